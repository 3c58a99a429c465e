"""Time the QM9 metadata build from qm9pack (target: <= 60 s for 130,831 molecules).

Usage: .venv/bin/python benchmarks/bench_metadata.py [--repeat N]
Prints the parse and write times and the molecules per second.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workflow_scripts.data.metadata import write_metadata  # noqa: E402
from workflow_scripts.data.qm9_qm9pack import read_qm9pack  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    totals = []
    for i in range(args.repeat):
        start = time.perf_counter()
        records = read_qm9pack()
        parsed = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            write_metadata(records, Path(tmp) / "qm9.parquet")
        done = time.perf_counter()
        totals.append(done - start)
        print(f"run {i + 1}: parse {parsed - start:.2f} s, write {done - parsed:.2f} s, total {done - start:.2f} s")
    best = min(totals)
    print(f"molecules: {len(records):,}; best total {best:.2f} s ({len(records) / best:,.0f} molecules/s); target <= 60 s")


if __name__ == "__main__":
    main()
