"""Packed data path vs SchNetPack's own (ASE database + per-molecule transforms), side by side in one process.

Usage: .venv/bin/python benchmarks/bench_data_path.py [--molecules 4000] [--threads 2] [--device auto] [--quick]

Same molecules (a seeded sample of the metadata table), same model (SchNet, 128 features, 3 interactions,
20 Gaussians, cutoff 5 A), same initial weights, batch 100, same thread count. What is timed:
- training: ``--steps`` optimizer steps after ``--warmup`` steps; a step is the next batch from the training
  loader (SchNetPack: database rows, ASE neighbor list, offsets, casts, collate; packed: a gather by index),
  the move to the device (packed: then the neighbor list on the device, the datamodule's batch hook), then
  WeightedU0Task.training_step (forward, weighted loss, batch statistics), backward and an Adam step; no Trainer.
  "model alone" runs the same steps on batches built beforehand: the rate no data path can exceed.
- data path: batches of the training loader including their neighbor lists, on the CPU, no model.
- each comparison runs in alternating rounds (SchNetPack, packed, ...) and reports the median round, so that
  load from other processes on a shared machine hits both paths alike.
- peak memory: the process's peak RSS (VmHWM) within each phase; the peak is reset between phases through
  /proc/self/clear_refs, so each figure belongs to one phase (an RSS, so it includes torch and the libraries).
The last line is the training speedup of the packed path.
"""

import argparse
import itertools
import re
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import schnetpack.properties as props  # noqa: E402
import schnetpack.transform as trn  # noqa: E402

from workflow_scripts.atoms_db import U0, build_database  # noqa: E402
from workflow_scripts.metadata import read_metadata  # noqa: E402
from workflow_scripts.packed_data import (  # noqa: E402
    PackedDataModule, batch_neighbor_list, build_store, load_store, molecule_batch,
)
from workflow_scripts.training import WeightedU0Task, build_model, data_module  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
MODEL = {"n_atom_basis": 128, "n_interactions": 3, "n_rbf": 20, "model_cutoff": 5.0, "data_cutoff": 5.0}
BATCH = 100
STATS = (U0, True, True)  # get_stats arguments of AddOffsets/RemoveOffsets for U0
N_VAL = N_TEST = 100
CPU = torch.device("cpu")
WORKLOADS = ("SchNetPack", "packed", "model alone")


def peak_rss_reset() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def rss_mib(field: str) -> float:
    return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) / 1024


class Phase:
    """Times a block and records its peak RSS (and peak GPU memory)."""

    def __init__(self, name: str, device: torch.device):
        self.name, self.device = name, device

    def __enter__(self):
        self.resettable = peak_rss_reset()
        self.start_rss = rss_mib("VmRSS")
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        sync(self.device)
        self.seconds = time.perf_counter() - self.start
        self.peak = rss_mib("VmHWM")
        gpu = f", GPU peak {torch.cuda.max_memory_allocated() / 2**20:,.0f} MiB" if self.device.type == "cuda" else ""
        scope = "" if self.resettable else " (process peak: no /proc/self/clear_refs)"
        print(f"  [{self.name}] {self.seconds:.2f} s, peak RSS {self.peak:,.0f} MiB{scope} "
              f"({self.peak - self.start_rss:+,.0f} over the phase start){gpu}")


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def forever(loader):
    while True:
        yield from loader


def to_device(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def data_work(batches):
    """Takes ``k`` complete batches from an endless iterable; returns the molecules they hold."""
    return lambda k: sum(len(next(batches)[props.n_atoms]) for _ in range(k))


def training_work(task, loader, prepare, device):
    """Runs ``k`` optimizer steps (next batch, prepare, training_step, backward, Adam); returns the molecules."""
    task.to(device).train()
    optimizer = torch.optim.Adam(task.parameters(), lr=1e-4)
    batches = forever(loader)

    def steps(k: int) -> int:
        molecules = 0
        for step in range(k):
            batch = prepare(next(batches))
            loss = task.training_step(batch, step)  # reads the loss (.item()): a device sync per step, as in training
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            molecules += len(batch[props.n_atoms])
        return molecules

    return steps


def interleaved(work: dict, units: dict, rounds: int, device: torch.device) -> dict:
    """Median molecules/s over alternating rounds of each workload.

    Alternating rounds spread other processes' load over all workloads; the median drops the rounds such load
    hit hardest (on a shared 2-core machine it hits the packed path's multi-threaded ops the most).
    """
    rates = {name: [] for name in work}
    for _ in range(rounds):
        for name, run in work.items():
            sync(device)
            start = time.perf_counter()
            molecules = run(units[name])
            sync(device)
            rates[name].append(molecules / (time.perf_counter() - start))
    for name, values in rates.items():
        print(f"    {name}: rounds from {min(values):,.0f} to {max(values):,.0f} molecules/s")
    return {name: float(np.median(values)) for name, values in rates.items()}


def median_rate(run, units: int, rounds: int) -> float:
    """Median molecules/s of ``rounds`` runs of ``units`` units (one workload, on the CPU)."""
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        rates.append(run(units) / (time.perf_counter() - start))
    return float(np.median(rates))


def warm_up(work: dict, units: dict, device: torch.device) -> None:
    """One round of each workload alone: first allocations, and each path's own peak memory."""
    for name, run in work.items():
        with Phase(f"{name}: warm-up, {units[name]} units", device):
            run(units[name])


def packed_batches(module: PackedDataModule, device: torch.device = CPU):
    for batch in forever(module.train_dataloader()):
        yield module.on_after_batch_transfer(to_device(batch, device), 0)


def sample(metadata: Path, n: int, seed: int = 0) -> np.ndarray:
    ids = read_metadata(metadata, columns=["gdb_id"])["gdb_id"].to_numpy()
    return np.random.default_rng(seed).permutation(ids)[:n]


def compare(args, metadata: Path, work: Path, device: torch.device) -> float:
    """Both paths on the same molecules: setup, data path alone, training; returns the training speedup."""
    spk_module, packed = setup_both(args.molecules, metadata, work, device)
    compare_data_paths(spk_module, packed, args, device)
    return compare_training(spk_module, packed, args, device)


def setup_both(n: int, metadata: Path, work: Path, device: torch.device):
    gdb_ids = sample(metadata, n + N_VAL + N_TEST)
    idx = {"train": np.arange(n), "val": np.arange(n, n + N_VAL), "test": np.arange(n + N_VAL, n + N_VAL + N_TEST)}
    print(f"\n== {n:,} training molecules, batch {BATCH}, data cutoff {MODEL['data_cutoff']} A, "
          f"{torch.get_num_threads()} threads, device {device}")
    with Phase("SchNetPack: ASE database build", device):
        build_database(metadata, pd.DataFrame({"gdb_id": gdb_ids}), work / "pool.db")
    with Phase("packed: store build", device):
        build_store(metadata, gdb_ids, work / "pool.npz")
    with Phase("packed: store load", device):
        store = load_store(work / "pool.npz")
    sizes = store.n_atoms
    weights = 1.0 + (sizes - sizes.min()) / (sizes.max() - sizes.min())  # any non-trivial per-molecule weights
    print(f"  database {(work / 'pool.db').stat().st_size / 2**20:.1f} MiB on disk; store "
          f"{(work / 'pool.npz').stat().st_size / 2**20:.1f} MiB on disk, {store.nbytes / 2**20:.1f} MiB in memory")
    with Phase("SchNetPack: datamodule setup (training mean)", device):
        spk_module = data_module(work / "pool.db", work, idx, BATCH, MODEL["data_cutoff"], weights)
        spk_module.setup("fit")
    with Phase("packed: datamodule setup (training mean, targets)", device):
        packed = PackedDataModule(store, idx, weights, BATCH, MODEL["data_cutoff"], seed=0)
        packed.setup("fit")
    spk_mean, packed_mean = spk_module.get_stats(*STATS)[0].item(), packed.get_stats(*STATS)[0].item()
    print(f"  training mean per atom: SchNetPack {spk_mean:.12f} eV, packed {packed_mean:.12f} eV")
    return spk_module, packed


def compare_data_paths(spk_module, packed: PackedDataModule, args, device: torch.device) -> None:
    print(f"data path alone (CPU, training loader with neighbor lists, no model; {args.rounds} alternating rounds "
          f"of {args.spk_batches} SchNetPack and {args.packed_batches} packed batches; median of rounds):")
    workloads = {"SchNetPack": data_work(forever(spk_module.train_dataloader())),
                 "packed": data_work(packed_batches(packed))}
    units = {"SchNetPack": args.spk_batches, "packed": args.packed_batches}
    warm_up(workloads, units, device)
    rate = interleaved(workloads, units, args.rounds, device)
    print(f"  SchNetPack {rate['SchNetPack']:,.0f} molecules/s; packed {rate['packed']:,.0f} molecules/s; "
          f"ratio {rate['packed'] / rate['SchNetPack']:.1f}x (target >= 20x)")
    if device.type == "cuda":
        on_device = interleaved({"packed": data_work(packed_batches(packed, device))}, units, args.rounds, device)
        print(f"  packed with transfer and neighbor list on {device}: {on_device['packed']:,.0f} molecules/s")


def compare_training(spk_module, packed: PackedDataModule, args, device: torch.device) -> float:
    print(f"training ({args.rounds} alternating rounds of {args.steps // args.rounds} optimizer steps each, after "
          f"{args.warmup} warm-up steps; Adam, WeightedU0Task.training_step, no Trainer; median of rounds):")
    torch.manual_seed(0)
    tasks = {name: WeightedU0Task(build_model(MODEL), 1e-4, None, "bench") for name in WORKLOADS}
    tasks["SchNetPack"].model.initialize_transforms(spk_module)
    for name in ("packed", "model alone"):
        tasks[name].model.initialize_transforms(packed)
        tasks[name].model.load_state_dict(tasks["SchNetPack"].model.state_dict())  # the same initial weights
    to_batch = packed.train_dataloader()
    ready = [packed.on_after_batch_transfer(to_device(b, device), 0) for b, _ in zip(to_batch, range(8))]
    workloads = {
        "SchNetPack": training_work(tasks["SchNetPack"], spk_module.train_dataloader(),
                                    lambda b: to_device(b, device), device),
        "packed": training_work(tasks["packed"], packed.train_dataloader(),
                                lambda b: packed.on_after_batch_transfer(to_device(b, device), 0), device),
        # batches built beforehand (copied: the model writes its output into the batch)
        "model alone": training_work(tasks["model alone"], ready, dict, device),
    }
    warm_up(workloads, {name: args.warmup for name in workloads}, device)
    rate = interleaved(workloads, {name: args.steps // args.rounds for name in workloads}, args.rounds, device)
    speedup = rate["packed"] / rate["SchNetPack"]
    print(f"  SchNetPack {rate['SchNetPack']:,.0f} molecules/s; packed {rate['packed']:,.0f} molecules/s; "
          f"ratio {speedup:.2f}x (target >= 2x on this CPU, >= 10x on a GPU)")
    print(f"  model alone (no data path) {rate['model alone']:,.0f} molecules/s: no data path can beat "
          f"{rate['model alone'] / rate['SchNetPack']:.2f}x here; packed reaches "
          f"{rate['packed'] / rate['model alone']:.0%} of the model-alone rate")
    return speedup


def neighbor_list_timing(store, cutoffs, repeats: int = 50) -> None:
    """CPU time per batch of 100 QM9 molecules (median over batches): batched torch list vs ASE per molecule."""
    rng = np.random.default_rng(1)
    batches = [molecule_batch(store, rng.choice(len(store), BATCH, replace=False)) for _ in range(repeats)]
    pairs = np.mean([int((b[props.n_atoms] ** 2).sum()) for b in batches])
    print(f"neighbor list, CPU, batch of {BATCH} QM9 molecules ({pairs:,.0f} candidate pairs per batch on average):")
    for cutoff in cutoffs:
        batched = median_seconds(lambda b, c=cutoff: batch_neighbor_list(b[props.R], b[props.n_atoms], c), batches)
        ase = trn.ASENeighborList(cutoff=cutoff)
        per_molecule = median_seconds(lambda b, nl=ase: [nl(m) for m in molecules(b)], batches[:15])
        print(f"  cutoff {cutoff} A: batched torch {batched * 1e6:,.0f} us/batch; "
              f"ASE per molecule (SchNetPack's transform) {per_molecule * 1e6:,.0f} us/batch")


def median_seconds(function, batches) -> float:
    function(batches[0])  # warm-up
    times = []
    for batch in batches:
        start = time.perf_counter()
        function(batch)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def molecules(batch: dict) -> list[dict]:
    """The per-molecule inputs of SchNetPack's transforms, from a packed batch."""
    bounds = np.concatenate([[0], np.cumsum(batch[props.n_atoms].numpy())])
    return [{props.Z: batch[props.Z][a:b], props.R: batch[props.R][a:b], props.pbc: torch.zeros(3, dtype=bool),
             props.cell: torch.zeros(1, 3, 3, dtype=torch.float64)} for a, b in itertools.pairwise(bounds)]


def scaling(metadata: Path, work: Path, counts) -> None:
    """Packed path alone: store build/load time, store size and data-path throughput against the pool size."""
    print("packed path alone against the number of molecules (CPU, neighbor lists included; median of 5 rounds "
          "of 100 batches):")
    ids = sample(metadata, max(counts), seed=2)
    for n in counts:
        path = work / f"scale_{n}.npz"
        start = time.perf_counter()
        build_store(metadata, ids[:n], path)
        built = time.perf_counter() - start
        start = time.perf_counter()
        store = load_store(path)
        loaded = time.perf_counter() - start
        start = time.perf_counter()
        module = PackedDataModule(store, {"train": np.arange(n), "val": [], "test": []}, np.ones(n), BATCH,
                                  MODEL["data_cutoff"])
        module.setup("fit")
        setup = time.perf_counter() - start
        rate = median_rate(data_work(packed_batches(module)), 100, rounds=5)
        print(f"  {n:>7,} molecules: build {built:.2f} s, load {loaded:.3f} s, setup {setup:.2f} s, store "
              f"{store.nbytes / 2**20:,.1f} MiB ({store.nbytes / n:,.0f} B/molecule), "
              f"{rate:,.0f} molecules/s")


def full_build(metadata: Path, work: Path) -> None:
    ids = read_metadata(metadata, columns=["gdb_id"])["gdb_id"].to_numpy()
    start = time.perf_counter()
    build_store(metadata, ids, work / "qm9.npz")
    built = time.perf_counter() - start
    start = time.perf_counter()
    store = load_store(work / "qm9.npz")
    print(f"full store: {len(store):,} molecules built in {built:.1f} s (target <= 60 s), loaded in "
          f"{time.perf_counter() - start:.2f} s, {(work / 'qm9.npz').stat().st_size / 2**20:.0f} MiB")
    neighbor_list_timing(store, (5.0, 4.0))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--metadata", type=Path, default=REPO / "results/data/qm9.parquet")
    parser.add_argument("--molecules", type=int, default=4000, help="training molecules of the side-by-side run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="auto", help="auto (cuda if available), cpu or cuda")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30, help="timed optimizer steps of each path")
    parser.add_argument("--rounds", type=int, default=10, help="alternating rounds of each timed comparison")
    parser.add_argument("--spk-batches", type=int, default=3, help="SchNetPack data-path batches per round")
    parser.add_argument("--packed-batches", type=int, default=100, help="packed data-path batches per round")
    parser.add_argument("--scaling", default="1000,10000,100000", help="pool sizes of the packed-only runs")
    parser.add_argument("--quick", action="store_true", help="skip the scaling runs and the full-QM9 store build")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if not args.quick:
            full_build(args.metadata, work)
            scaling(args.metadata, work, [int(c) for c in args.scaling.split(",")])
        speedup = compare(args, args.metadata, work, device)
    print(f"training speedup vs schnetpack: {speedup:.2f}x")


if __name__ == "__main__":
    main()
