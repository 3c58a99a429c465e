"""Training throughput: this workflow's recipe against SchNetPack's own recipes, side by side in one process.

Usage: .venv/bin/python benchmarks/bench_data_path.py [--molecules 4000] [--threads 2] [--device auto] [--quick]
       [--widths 128,38] [--batch-sizes 100,512] [--only-precision]

Same molecules (a seeded sample of the metadata table), same model (SchNet, 3 interactions, 20 Gaussians,
cutoff 5 A; widths 128, the thesis default, and 38, its best), same initial weights, same thread count.
- data path alone: batches of the training loader including their neighbor lists, on the CPU, no model, for
  SchNetPack's ASE, MatScipy and vesin neighbor lists (no workers) and the packed path; SchNetPack's fastest
  list makes its best recipe.
- training by recipe, at each width and batch size: optimizer steps (next batch, move to the device, neighbor
  list where the path builds it there, WeightedTask.training_step, backward, Adam; no Trainer) of
    SchNetPack ASE    its AtomsDataModule with the ASE neighbor list and no loader workers;
    SchNetPack best   its fastest neighbor list and one loader worker per core;
    packed            the packed data path with SchNetPack's SchNet, whole batches (before the fast step);
    packed, fast step the workflow's default: packed path, pair-symmetric SchNet, chunked batches.
- each comparison runs in alternating rounds and reports the median round, so that load from other processes
  on a shared machine hits all recipes alike.
- peak memory: the process's peak RSS (VmHWM) within each phase; the peak is reset between phases through
  /proc/self/clear_refs, so each figure belongs to one phase (an RSS, so it includes torch and the libraries).
- by precision: the workflow's fast step in float32 and in bf16-mixed (Lightning's autocast around
  training_step, training.precision), side by side at the largest batch and each width, on the chosen device.
The last lines are meant for scripts: the speedup against SchNetPack's best recipe at the largest batch, the fast
step's throughput at the largest batch over the smallest, and the training speedup against SchNetPack's ASE recipe
at the smallest batch (all at the first width; left out with --only-precision); then
``bf16-mixed speedup vs fp32, batch 512: X.XXx`` (the first width) and the same with ``, width W`` for the others.
"""

import argparse
import contextlib
import itertools
import os

os.environ.setdefault("TQDM_DISABLE", "1")  # SchNetPack's statistics progress bars
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

from workflow_scripts.properties import U0  # noqa: E402
from workflow_scripts.training.atoms_database import build_database  # noqa: E402
from workflow_scripts.data.metadata import read_metadata  # noqa: E402
from workflow_scripts.training.packed_data import (  # noqa: E402
    PackedDataModule, batch_neighbor_list, build_store, load_store, molecule_batch,
)
from workflow_scripts.training.batch_chunks import chunk_molecules  # noqa: E402
from workflow_scripts.training.model import build_model  # noqa: E402
from workflow_scripts.training.precision import BF16_MIXED, bf16_hardware_line, lightning_precision  # noqa: E402
from pytorch_lightning.plugins.precision import MixedPrecision  # noqa: E402
from workflow_scripts.training.schnetpack_data import data_module  # noqa: E402
from workflow_scripts.training.task import WeightedTask  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
MODEL = {"n_atom_basis": 128, "n_interactions": 3, "n_rbf": 20, "model_cutoff": 5.0, "data_cutoff": 5.0,
         "energy_reference": "qm9_atoms"}
BATCH = 100
STATS = (U0, True, True)  # get_stats arguments of AddOffsets/RemoveOffsets for U0
N_VAL = N_TEST = 100
CPU = torch.device("cpu")
RECIPES = ("SchNetPack ASE", "SchNetPack best", "packed", "packed, fast step")


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


def training_work(task, loader, prepare, device, step_context=contextlib.nullcontext):
    """Runs ``k`` optimizer steps (next batch, prepare, training_step, backward, Adam); returns the molecules.

    ``step_context``: what surrounds training_step, as Lightning's precision plugin does (its forward_context:
    bf16 autocast for bf16-mixed); the last chunk's backward runs outside it, as in Lightning.

    A loader with worker processes keeps building batches ahead (prefetch) after the last step of a round; that
    work belongs to its recipe, so a round ends only when its workers are idle, and it does not land in the
    next recipe's round. A new epoch starts the workers again, as in a real training.
    """
    task.to(device).train()
    optimizer = torch.optim.Adam(task.parameters(), lr=1e-4)
    source = {"batches": iter(loader)}

    def steps(k: int) -> int:
        molecules = 0
        for step in range(k):
            try:
                batch = next(source["batches"])
            except StopIteration:
                source["batches"] = iter(loader)
                batch = next(source["batches"])
            batch = prepare(batch)
            optimizer.zero_grad(set_to_none=True)  # before the step: a chunked step's backward starts inside it
            with step_context():
                loss = task.training_step(batch, step)  # reads the loss (.item()): a device sync per step
            loss.backward()
            optimizer.step()
            molecules += len(batch[props.n_atoms])
        if loader.num_workers:
            wait_for_idle_workers(source["batches"])
        return molecules

    return steps


def wait_for_idle_workers(batches, poll_seconds: float = 0.005, settle: int = 4) -> None:
    """Returns once none of the loader's worker processes has been running for ``settle`` polls in a row."""
    pids = [worker.pid for worker in getattr(batches, "_workers", [])]  # torch's multi-process loader iterator

    def running(pid: int) -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "R"
        except OSError:
            return False

    calm = 0
    while pids and calm < settle:
        time.sleep(poll_seconds)
        calm = 0 if any(running(pid) for pid in pids) else calm + 1


def interleaved(work: dict, units: dict, rounds: int, device: torch.device, quiet: bool = False) -> dict:
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
        if not quiet:
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


def compare(args, metadata: Path, work: Path, device: torch.device) -> dict:
    """Both paths on the same molecules: setup, data path alone, then training by recipe; returns the rates."""
    spk_module, packed = setup_both(args.molecules, metadata, work, device)
    if args.only_precision:
        return {}
    best_neighbor_list = compare_data_paths(spk_module, packed, args, work, device)
    return compare_recipes(args, packed, work, best_neighbor_list, device)


def setup_both(n: int, metadata: Path, work: Path, device: torch.device):
    gdb_ids = sample(metadata, n + N_VAL + N_TEST)
    print(f"\n== {n:,} training molecules, batch {BATCH}, data cutoff {MODEL['data_cutoff']} A, "
          f"{torch.get_num_threads()} threads, device {device}")
    with Phase("SchNetPack: ASE database build", device):
        build_database(metadata, pd.DataFrame({"gdb_id": gdb_ids}), work / "pool.db")
    with Phase("packed: store build", device):
        build_store(metadata, gdb_ids, work / "pool.npz")
    with Phase("packed: store load", device):
        store = load_store(work / "pool.npz")
    print(f"  database {(work / 'pool.db').stat().st_size / 2**20:.1f} MiB on disk; store "
          f"{(work / 'pool.npz').stat().st_size / 2**20:.1f} MiB on disk, {store.nbytes / 2**20:.1f} MiB in memory")
    with Phase("SchNetPack: datamodule setup (training mean)", device):
        spk_module = schnetpack_module(work, n, BATCH, trn.ASENeighborList, 0)
    with Phase("packed: datamodule setup (training mean, targets)", device):
        packed = packed_module(store, n, BATCH)
    spk_mean, packed_mean = spk_module.get_stats(*STATS)[0].item(), packed.get_stats(*STATS)[0].item()
    print(f"  training mean per atom: SchNetPack {spk_mean:.12f} eV, packed {packed_mean:.12f} eV")
    return spk_module, packed


def split_of(n: int) -> dict:
    return {"train": np.arange(n), "val": np.arange(n, n + N_VAL), "test": np.arange(n + N_VAL, n + N_VAL + N_TEST)}


def loss_weights(n: int) -> np.ndarray:
    return np.linspace(1.0, 2.0, n + N_VAL + N_TEST)  # any non-trivial per-molecule weights


def schnetpack_module(work: Path, n: int, batch: int, neighbor_list, workers: int):
    module = data_module(work / "pool.db", work, split_of(n), batch, MODEL["data_cutoff"], loss_weights(n),
                         neighbor_list=neighbor_list, num_workers=workers)
    module.setup("fit")
    return module


def packed_module(store, n: int, batch: int) -> PackedDataModule:
    module = PackedDataModule(store, split_of(n), loss_weights(n), batch, MODEL["data_cutoff"], seed=0)
    module.setup("fit")
    return module


def compare_data_paths(spk_module, packed: PackedDataModule, args, work: Path, device: torch.device):
    """Data paths alone; returns SchNetPack's fastest neighbor-list transform (its best recipe's)."""
    print(f"data path alone (CPU, training loader with neighbor lists, no model, no loader workers; {args.rounds} "
          f"alternating rounds of {args.spk_batches} SchNetPack and {args.packed_batches} packed batches; median):")
    lists = {"ASE": trn.ASENeighborList, "MatScipy": trn.MatScipyNeighborList, "vesin": trn.VesinNeighborList}
    modules = {name: spk_module if name == "ASE" else schnetpack_module(work, args.molecules, BATCH, nl, 0)
               for name, nl in lists.items()}
    workloads = {f"SchNetPack {name}": data_work(forever(module.train_dataloader()))
                 for name, module in modules.items()}
    workloads["packed"] = data_work(packed_batches(packed))
    units = {name: args.packed_batches if name == "packed" else args.spk_batches for name in workloads}
    warm_up(workloads, units, device)
    rate = interleaved(workloads, units, args.rounds, device)
    best = max(lists, key=lambda name: rate[f"SchNetPack {name}"])
    print("  " + "; ".join(f"{name} {value:,.0f} molecules/s" for name, value in rate.items()))
    print(f"  packed / SchNetPack ASE {rate['packed'] / rate['SchNetPack ASE']:.1f}x (target >= 20x); "
          f"packed / SchNetPack {best} (its fastest list) {rate['packed'] / rate[f'SchNetPack {best}']:.1f}x")
    if device.type == "cuda":
        on_device = interleaved({"packed": data_work(packed_batches(packed, device))}, units, args.rounds, device)
        print(f"  packed with transfer and neighbor list on {device}: {on_device['packed']:,.0f} molecules/s")
    return best, lists[best]


def compare_recipes(args, packed: PackedDataModule, work: Path, best, device: torch.device) -> dict:
    """Training steps of each recipe at each width and batch size; returns {(width, batch): {recipe: rate}}."""
    best_name, best_list = best
    workers = len(os.sched_getaffinity(0))
    print(f"training by recipe (Adam, WeightedTask.training_step, no Trainer; alternating rounds of about "
          f"{args.round_molecules} molecules per recipe, median of {args.rounds} rounds after one warm-up round):")
    print(f"  SchNetPack ASE: its ASE neighbor list, no loader workers (the workflow's schnetpack data path)")
    print(f"  SchNetPack best: its {best_name} neighbor list (its fastest here), {workers} loader workers (one per "
          "core), SchNetPack's SchNet")
    print("  packed: the packed data path, SchNetPack's SchNet, whole batches (before the fast step)")
    print(f"  packed, fast step: the packed data path, pair-symmetric SchNet, batches in chunks of "
          f"{chunk_molecules('auto', device) or 'all'} molecules (the workflow's default)")
    rates = {}
    for batch in args.batch_sizes:
        n = args.molecules
        modules = {RECIPES[0]: schnetpack_module(work, n, batch, trn.ASENeighborList, 0),
                   RECIPES[1]: schnetpack_module(work, n, batch, best_list, workers)}
        modules[RECIPES[2]] = modules[RECIPES[3]] = packed_module(packed.store, n, batch)
        for width in args.widths:
            rates[width, batch] = recipe_rates(args, packed, modules, width, batch, device)
    return rates


def recipe_rates(args, packed, modules, width, batch, device) -> dict:
    model = {**MODEL, "n_atom_basis": width}
    torch.manual_seed(0)
    tasks = {name: WeightedTask(build_model({**model, "implementation": "schnetpack"}), 1e-4, None, "bench")
             for name in RECIPES[:3]}
    fast = build_model({**model, "implementation": "pair_symmetric"})
    tasks[RECIPES[3]] = WeightedTask(fast, 1e-4, None, "bench", chunk_molecules=chunk_molecules("auto", device))
    for name, task in tasks.items():
        task.model.initialize_transforms(modules[name])
        task.model.load_state_dict(tasks[RECIPES[0]].model.state_dict())  # the same initial weights
    to_device_only = lambda b: to_device(b, device)  # noqa: E731
    on_device = lambda b: packed.on_after_batch_transfer(to_device(b, device), 0)  # noqa: E731
    workloads = {name: training_work(tasks[name], modules[name].train_dataloader(),
                                     to_device_only if name.startswith("SchNetPack") else on_device, device)
                 for name in RECIPES}
    steps = {name: max(1, round(args.round_molecules / batch)) for name in RECIPES}
    with Phase(f"warm-up, width {width}, batch {batch}", device):
        for run in workloads.values():
            run(1)
    rate = interleaved(workloads, steps, args.rounds, device, quiet=True)
    ours = rate[RECIPES[3]]
    print(f"  width {width:>3}, batch {batch:>3}: " + "; ".join(f"{name} {rate[name]:,.0f}" for name in RECIPES)
          + " molecules/s")
    print(f"    fast step vs SchNetPack ASE {ours / rate[RECIPES[0]]:.2f}x, vs SchNetPack best "
          f"{ours / rate[RECIPES[1]]:.2f}x, vs packed {ours / rate[RECIPES[2]]:.2f}x; SchNetPack best vs ASE "
          f"{rate[RECIPES[1]] / rate[RECIPES[0]]:.2f}x")
    return rate


def precision_speedups(args, metadata: Path, work: Path, device: torch.device) -> dict:
    """The workflow's own training step (packed path, pair-symmetric SchNet, chunks) in float32 and in bf16-mixed
    (Lightning's autocast around training_step), side by side, same initial weights and batches, at the largest
    batch size and each width; returns {width: bf16-mixed rate / float32 rate}."""
    batch = max(args.batch_sizes)
    store = load_store(work / "pool.npz")
    module = packed_module(store, args.molecules, batch)
    bf16 = lambda: MixedPrecision(lightning_precision(BF16_MIXED), device.type).forward_context()  # noqa: E731
    on_device = lambda b: module.on_after_batch_transfer(to_device(b, device), 0)  # noqa: E731
    print(f"training step by precision (the workflow's fast step, batch {batch}, chunks of "
          f"{chunk_molecules('auto', device) or 'all'}; alternating rounds of about {args.round_molecules} molecules, "
          f"median of {args.rounds} rounds after one warm-up round; bfloat16 hardware: "
          f"{bf16_hardware_line(device)}):")
    speedups = {}
    for width in args.widths:
        torch.manual_seed(0)
        tasks = {name: WeightedTask(build_model({**MODEL, "n_atom_basis": width, "implementation": "pair_symmetric"}),
                                      1e-4, None, "bench", chunk_molecules=chunk_molecules("auto", device))
                 for name in ("fp32", BF16_MIXED)}
        for task in tasks.values():
            task.model.initialize_transforms(module)
            task.model.load_state_dict(tasks["fp32"].model.state_dict())  # the same initial weights
        workloads = {"fp32": training_work(tasks["fp32"], module.train_dataloader(), on_device, device),
                     BF16_MIXED: training_work(tasks[BF16_MIXED], module.train_dataloader(), on_device, device, bf16)}
        steps = {name: max(1, round(args.round_molecules / batch)) for name in workloads}
        with Phase(f"precision warm-up, width {width}, batch {batch}", device):
            for run in workloads.values():
                run(1)
        rate = interleaved(workloads, steps, args.rounds, device, quiet=True)
        speedups[width] = rate[BF16_MIXED] / rate["fp32"]
        print(f"  width {width:>3}, batch {batch}: fp32 {rate['fp32']:,.0f}, bf16-mixed {rate[BF16_MIXED]:,.0f} "
              f"molecules/s")
    return speedups


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
    parser.add_argument("--rounds", type=int, default=6, help="alternating rounds of each timed comparison")
    parser.add_argument("--round-molecules", type=int, default=600, help="molecules per recipe and training round")
    parser.add_argument("--widths", default="128,38", help="SchNet widths (thesis default 128, thesis best 38)")
    parser.add_argument("--batch-sizes", default="100,512", help="batch sizes of the training comparison")
    parser.add_argument("--spk-batches", type=int, default=3, help="SchNetPack data-path batches per round")
    parser.add_argument("--packed-batches", type=int, default=100, help="packed data-path batches per round")
    parser.add_argument("--scaling", default="1000,10000,100000", help="pool sizes of the packed-only runs")
    parser.add_argument("--quick", action="store_true", help="skip the scaling runs and the full-QM9 store build")
    parser.add_argument("--only-precision", action="store_true",
                        help="only the training step in float32 against bf16-mixed (with --quick: no other comparison)")
    args = parser.parse_args()
    if not args.metadata.exists():
        parser.error(f"no QM9 metadata table at {args.metadata}: build it with `.venv/bin/snakemake --cores 2 "
                     "results/data/qm9.parquet` (a minute) or give one with --metadata")
    args.widths = [int(w) for w in args.widths.split(",")]
    args.batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if not args.quick:
            full_build(args.metadata, work)
            scaling(args.metadata, work, [int(c) for c in args.scaling.split(",")])
        rates = compare(args, args.metadata, work, device)
        speedups = precision_speedups(args, args.metadata, work, device)
    width, small, large = args.widths[0], min(args.batch_sizes), max(args.batch_sizes)
    ours = RECIPES[3]
    if rates:
        print(f"summary at width {width} (fast step: pair-symmetric SchNet, chunks, packed data path):")
        print(f"speedup vs schnetpack best recipe, batch {large}: "
              f"{rates[width, large][ours] / rates[width, large][RECIPES[1]]:.2f}x")
        print(f"batch {large} / batch {small} throughput: {rates[width, large][ours] / rates[width, small][ours]:.2f}")
        print(f"training speedup vs schnetpack: {rates[width, small][ours] / rates[width, small][RECIPES[0]]:.2f}x")
    # the workflow's own step, bf16-mixed against float32 on this device (the first width's line names no width)
    for index, (w, speedup) in enumerate(speedups.items()):
        print(f"bf16-mixed speedup vs fp32, batch {large}{'' if index == 0 else f', width {w}'}: {speedup:.2f}x")


if __name__ == "__main__":
    main()
