"""One training epoch per representation, recipe and precision: molecules/s and peak memory (benchmarks/gpu_check.sh).

Usage: .venv/bin/python benchmarks/gpu_epoch.py --metadata results/data/qm9.parquet [--device cuda]
       [--molecules 0] [--spk-molecules 20000] [--representations schnet,painn] [--precisions "32 bf16-mixed"]
       [--batch 512] [--width 128] [--interactions 3] [--work DIR]

Recipes, each at the thesis's batch and width (config.yaml defaults), with Adam and WeightedTask.training_step
(no Trainer, no validation), timed from the epoch's first batch to its last step, the device synchronized:
- packed: the workflow's data path (molecules in memory, neighbor lists per batch on the device) over every
  sampled molecule but 200, and the workflow's step (pair-symmetric SchNet; PaiNN and SO3net run SchNetPack's).
- SchNetPack: its own recipe (ASE database, AtomsDataModule, MatScipy neighbor list as in its QM9 recipe, one
  loader worker per core) and its own SchNet, over --spk-molecules molecules: building a database of all of QM9
  takes about 5 minutes (2.1 ms a molecule), so its full-epoch time is projected from that rate.
Precisions: ``32`` (float32, as the workflow trains today) and ``bf16-mixed`` (torch.autocast to bfloat16 around
forward and backward, what Lightning's ``precision: bf16-mixed`` does); a precision that
schemas/config.schema.yaml does not offer as ``training.precision`` is skipped and said so.
Peak memory: torch.cuda.max_memory_allocated on a GPU (reset per epoch), the process's peak RSS on the CPU.
The lines starting with ``|`` form a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TQDM_DISABLE", "1")  # SchNetPack's statistics progress bars
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import pandas as pd
import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import schnetpack.properties as props  # noqa: E402
import schnetpack.transform as trn  # noqa: E402

import bench_data_path as bench  # noqa: E402
from workflow_scripts.representations import LABELS  # noqa: E402
from workflow_scripts.training.atoms_database import build_database  # noqa: E402
from workflow_scripts.training.batch_chunks import chunk_molecules  # noqa: E402
from workflow_scripts.training.model import build_model  # noqa: E402
from workflow_scripts.training.packed_data import build_store, load_store  # noqa: E402
from workflow_scripts.training.precision import bf16_hardware_line  # noqa: E402
from workflow_scripts.training.task import WeightedTask  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
HELD_OUT = bench.N_VAL + bench.N_TEST  # sampled molecules the data modules keep for validation and test
HEADER = ("| network | recipe | precision | batch | molecules | epoch s | molecules/s | full-QM9 epoch s "
          "| peak memory |")


def known_precisions() -> set[str]:
    """The values schemas/config.schema.yaml allows for training.precision ({'32'} before that key exists)."""
    schema = yaml.safe_load((REPO / "schemas/config.schema.yaml").read_text())
    precision = schema["$defs"]["training"]["properties"].get("precision", {})
    return {"32"} | {str(v) for v in precision.get("enum", [])}


def choose_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        sys.exit(f"gpu_epoch: --device cuda, but torch {torch.__version__} sees no GPU (torch.cuda.is_available() "
                 "is False): install a CUDA build of torch, check CUDA_VISIBLE_DEVICES, or pass --device cpu")
    return torch.device(name)


def model_settings(representation: str, args, implementation: str) -> dict:
    defaults = yaml.safe_load((REPO / "config.yaml").read_text())["defaults"]["model"]
    return {**defaults, **bench.MODEL, "representation": representation, "n_atom_basis": args.width,
            "n_interactions": args.interactions, "implementation": implementation}


def peak_memory_reset(device: torch.device) -> None:
    bench.peak_rss_reset()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB (GPU)"
    return f"{bench.rss_mib('VmHWM') / 1024:.2f} GiB (RSS)"


def epoch(task, loader, prepare, device, precision: str, warm_up_steps: int = 0) -> tuple[int, float]:
    """One pass over ``loader`` (after ``warm_up_steps`` untimed steps of another pass); (molecules, seconds)."""
    optimizer = torch.optim.Adam(task.parameters(), lr=1e-4)
    bf16 = precision == "bf16-mixed"

    def step(batch, index) -> int:
        batch = prepare(batch)
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else nullcontext():
            loss = task.training_step(batch, index)  # reads the loss (.item()): a sync per step, as in training
            loss.backward()
        optimizer.step()
        return len(batch[props.n_atoms])

    for index, batch in zip(range(warm_up_steps), loader):  # CUDA kernels chosen, allocator warmed
        step(batch, index)
    bench.sync(device)
    start, molecules = time.perf_counter(), 0
    for index, batch in enumerate(loader):
        molecules += step(batch, index)
    bench.sync(device)
    return molecules, time.perf_counter() - start


def run(args) -> None:
    device = choose_device(args.device)
    torch.set_num_threads(args.threads or torch.get_num_threads())
    allowed = known_precisions()
    precisions = [p for p in args.precisions.split() if p in allowed]
    for skipped in [p for p in args.precisions.split() if p not in allowed]:
        print(f"precision {skipped}: skipped, schemas/config.schema.yaml offers training.precision {sorted(allowed)}")
    if set(args.recipes.split(",")) - {"packed", "SchNetPack"}:
        sys.exit(f"gpu_epoch: --recipes {args.recipes}: choose from packed, SchNetPack")
    representations = args.representations.split(",")
    unknown = [r for r in representations if r not in LABELS]
    if unknown:
        sys.exit(f"gpu_epoch: --representations {unknown}: choose from {', '.join(LABELS)}")
    work = Path(args.work or tempfile.mkdtemp(prefix="gpu_epoch_"))
    work.mkdir(parents=True, exist_ok=True)
    n_all = len(bench.read_metadata(args.metadata, columns=["gdb_id"]))
    n_packed = (args.molecules or n_all) - HELD_OUT
    n_spk = min(args.spk_molecules, n_packed)
    gdb_ids = bench.sample(args.metadata, n_packed + HELD_OUT)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"device {device} ({name}), torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{len(os.sched_getaffinity(0))} cores; batch {args.batch}, width {args.width}, "
          f"{args.interactions} interactions; {n_packed:,} training molecules (packed), {n_spk:,} (SchNetPack); "
          f"bfloat16 hardware: {bf16_hardware_line(device)}")

    start = time.perf_counter()
    build_store(args.metadata, gdb_ids, work / "pool.npz")
    store = load_store(work / "pool.npz")
    print(f"packed store of {len(store):,} molecules: {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    spk_ids = list(gdb_ids[:n_spk]) + list(gdb_ids[n_packed:])  # its training molecules and the held-out ones
    build_database(args.metadata, pd.DataFrame({"gdb_id": spk_ids}), work / "pool.db")
    print(f"SchNetPack database of {len(spk_ids):,} molecules: {time.perf_counter() - start:.1f} s")
    packed = bench.packed_module(store, n_packed, args.batch)
    workers = len(os.sched_getaffinity(0))
    spk_module = bench.schnetpack_module(work, n_spk, args.batch, trn.MatScipyNeighborList, workers)

    rows = []
    for representation in representations:
        for recipe in args.recipes.split(","):
            for precision in precisions:
                implementation = "pair_symmetric" if recipe == "packed" else "schnetpack"
                torch.manual_seed(0)
                model = build_model(model_settings(representation, args, implementation))
                module = packed if recipe == "packed" else spk_module
                chunk = chunk_molecules("auto", device) if recipe == "packed" else None
                task = WeightedTask(model, 1e-4, None, "gpu_check", chunk_molecules=chunk)
                task.model.initialize_transforms(module)
                task.to(device).train()
                if recipe == "packed":
                    prepare = lambda b: packed.on_after_batch_transfer(bench.to_device(b, device), 0)  # noqa: E731
                else:
                    prepare = lambda b: bench.to_device(b, device)  # noqa: E731
                peak_memory_reset(device)
                try:
                    molecules, seconds = epoch(task, module.train_dataloader(), prepare, device, precision,
                                               warm_up_steps=args.warm_up_steps)
                except torch.OutOfMemoryError as err:
                    print(f"{LABELS[representation]} {recipe} {precision}: out of GPU memory at batch {args.batch} "
                          f"({str(err).splitlines()[0]}); try --batch {args.batch // 2}")
                    torch.cuda.empty_cache()
                    continue
                rate = molecules / seconds
                row = (f"| {LABELS[representation]} | {recipe} | {precision} | {args.batch} | {molecules:,} | "
                       f"{seconds:.1f} | {rate:,.0f} | {n_all * (1 - 0.3) / rate:.1f} | {peak_memory(device)} |")
                print(row, flush=True)
                rows.append(row)
                del task, model
                if device.type == "cuda":
                    torch.cuda.empty_cache()
    print("\nfor docs/benchmarks.md (full-QM9 epoch: the thesis split's 70 % of QM9 at the measured rate):")
    print(HEADER)
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metadata", type=Path, default=REPO / "results/data/qm9.parquet")
    parser.add_argument("--device", default="auto", help="auto (cuda if available), cuda or cpu")
    parser.add_argument("--molecules", type=int, default=0, help="molecules sampled for the packed epoch (0: all)")
    parser.add_argument("--spk-molecules", type=int, default=20000, help="training molecules of SchNetPack's epoch")
    parser.add_argument("--representations", default="schnet,painn")
    parser.add_argument("--precisions", default="32 bf16-mixed", help="space-separated training.precision values")
    parser.add_argument("--recipes", default="packed,SchNetPack", help="packed, SchNetPack or both")
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--interactions", type=int, default=3)
    parser.add_argument("--warm-up-steps", type=int, default=3, help="untimed steps before each epoch")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--work", default=None, help="folder for the store and the database (default: a temporary one)")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
