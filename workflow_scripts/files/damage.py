"""Files the workflow made earlier, read back with damage detected (a crash, a full disk, a hand edit).

Outputs are written atomically (atomic.py), yet a file can still be damaged after it was made: a disk that
fills while something else rewrites it, a copy cut off, an edit by hand. Snakemake sees such a file as up to
date, so every run would fail on it again. Here a damaged file is named in a :class:`DamagedFileError` (its
message is the whole story: logs.py writes it without a traceback) and removed, so that the next
``snakemake`` run makes it again, with everything that depends on it. Only files the workflow makes go through
these readers; a user's own files are never removed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from workflow_scripts.properties import COUNT_COLUMNS
from workflow_scripts.evaluation.predictions import ROW_COLUMNS
from workflow_scripts.run_files import ANY_TARGET_CURVE_COLUMNS, RUN_OUTPUTS
from workflow_scripts.targets import any_target

log = logging.getLogger(__name__)


class DamagedFileError(RuntimeError):
    """A file the workflow made cannot be read; the message names it and how to recover."""

    user_facing = True  # logs.py: the message alone, no traceback


# Not damage: the file is absent or unreadable for this user, or the machine is out of memory.
NOT_DAMAGE = (FileNotFoundError, PermissionError, IsADirectoryError, MemoryError)


def _reason(error: BaseException) -> str:
    """The first line of a library's error, with its type: enough to see what was wrong."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def damaged(path, reason: str) -> DamagedFileError:
    """The error for a damaged ``path``, which is removed first so that Snakemake makes it again."""
    path = Path(path)
    path.unlink(missing_ok=True)
    return DamagedFileError(
        f"{path} is damaged and cannot be read ({reason}); it was removed: run snakemake again and it is made "
        "anew, with what depends on it"
    )


@contextlib.contextmanager
def reading(path):
    """Turn any failure to parse ``path`` inside the block into a DamagedFileError (removing the file)."""
    try:
        yield
    except DamagedFileError:
        raise
    except NOT_DAMAGE:
        raise
    except Exception as error:  # what libraries raise on a damaged file varies widely: see tests/unit/test_damaged_files.py
        raise damaged(path, _reason(error)) from None


# Columns that readers of a file rely on, by file name (subsets by folder): an edit that drops one is damage.
EXPECTED_COLUMNS = {
    "qm9.parquet": ["gdb_id", "n_atoms", "U0", "atomic_numbers", "positions"],
    "split.parquet": ["gdb_id", "n_atoms", *COUNT_COLUMNS, "split"],
    "subsets": ["gdb_id", "n_atoms", *COUNT_COLUMNS],
    "predictions.parquet": [*ROW_COLUMNS, any_target(lambda t: t.true_column), any_target(lambda t: t.pred_column)],
    **{f"metrics_{kind}.csv": ["group", "count", any_target(lambda t: t.metric("mae"))]
       for kind in ("by_size", "by_element", "overall")},
    **ANY_TARGET_CURVE_COLUMNS,
    "size_histogram.csv": ["n_atoms", "frequent"],
}
SCHNETPACK_MODEL = Path(RUN_OUTPUTS["export"]).name  # a pickled torch archive without a suffix
ZIP_FILES = (".npz", ".pt", ".ckpt")  # numpy's and torch's formats are zip archives with CRCs


def expected_columns(path) -> list[str] | None:
    path = Path(path)
    if path.suffix == ".parquet" and path.parent.name == "subsets":
        return EXPECTED_COLUMNS["subsets"]
    return EXPECTED_COLUMNS.get(path.name)


def check_file(path) -> None:
    """Raise DamagedFileError (removing the file) if ``path`` does not parse as its kind says.

    Parquet: its footer and columns (a file cut short loses its footer); CSV and JSON: parsed whole; numpy and
    torch archives (``.npz``, ``.pt``, ``.ckpt``, SchNetPack's ``best_model``): every member's CRC. Other
    kinds (figures, HTML, a user's molecules) are not checked.
    """
    path = Path(path)
    columns = rows = None
    with reading(path):
        if path.suffix == ".parquet":
            parquet = pq.ParquetFile(path)
            columns, rows = parquet.schema_arrow.names, parquet.metadata.num_rows
        elif path.suffix == ".csv":
            frame = pd.read_csv(path)
            columns, rows = list(frame.columns), len(frame)
        elif path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix in ZIP_FILES or path.name == SCHNETPACK_MODEL:
            with zipfile.ZipFile(path) as archive:
                bad = archive.testzip()
            if bad is not None:
                raise ValueError(f"its member {bad} fails its CRC check")
    if columns is not None:
        _require(path, columns, rows, expected_columns(path))


def check_inputs(paths, results: str = "results") -> None:
    """check_file on every file of ``paths`` that the workflow made (under ``results/``); a user's are left alone."""
    for path in paths:
        path = Path(path)
        if path.parts[:1] == (results,) and path.is_file():
            check_file(path)


def missing_columns(required, columns) -> list[str]:
    """The ``required`` columns not among ``columns``; a tuple is one column named after the study's target, any
    one of whose names will do (targets.any_target)."""
    present = set(columns)
    return [c if isinstance(c, str) else " or ".join(c) for c in required or ()
            if (c not in present if isinstance(c, str) else not set(c) & present)]


def _require(path, columns, rows: int, required) -> None:
    """``required`` columns (None: any) present, and some rows where columns are required."""
    missing = missing_columns(required, columns)
    if missing:
        raise damaged(path, f"no column {', '.join(missing)}")
    if required and rows == 0:
        raise damaged(path, "no rows")


def read_parquet(path, columns=None) -> pd.DataFrame:
    """A Parquet table the workflow wrote, whole, with the columns its readers rely on (EXPECTED_COLUMNS)."""
    with reading(path):
        frame = pd.read_parquet(path, columns=columns)
    _require(path, frame.columns, len(frame), None if columns else expected_columns(path))
    return frame


def read_csv(path) -> pd.DataFrame:
    """A CSV table the workflow wrote, with the columns its readers rely on (EXPECTED_COLUMNS)."""
    with reading(path):
        frame = pd.read_csv(path)
    _require(path, frame.columns, len(frame), expected_columns(path))
    return frame


def torch_load(path) -> dict:
    import torch  # here: most jobs read no model, and importing torch takes seconds

    return torch.load(path, map_location="cpu", weights_only=True)


def parsed(path, parse):
    """``parse(path)``; any failure (a missing key included) named as damage of ``path``, which is left in place."""
    try:
        return parse(path)
    except NOT_DAMAGE:
        raise
    except Exception as error:
        raise DamagedFileError(f"{path} is damaged and cannot be read ({_reason(error)})") from None
