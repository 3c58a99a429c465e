"""The thesis-scale study's training time, projected from measured training rates.

Usage: .venv/bin/python benchmarks/project_thesis_study.py --rate 128=<molecules/s> --rate 38=<molecules/s>
       [--gpus 8 --gpu-epoch-seconds 3]

What it counts, from the repository's config.yaml at `scale: thesis` and the real QM9 metadata
(results/data/qm9.parquet): every training the study runs (reused trainings counted once), each training's
optimizer steps under the config's budget rule (workflow_scripts.training.budget.step_budget) on its real subset,
and its validation passes. Time = molecule passes / rate, where the rate comes from
benchmarks/bench_data_path.py at batch 512 (the thesis batch) for the two measured widths; other widths follow
the power law through them, other interaction counts scale as 3 / n_interactions, other batch sizes train at
the same rate (batches run in chunks: the benchmark's batch-512 rate is within 10 % of its batch-100 rate), and
a validation pass (forward only) costs a third of a training pass. Early stopping is ignored: an upper bound. Trainings run one after another on the CPU (each uses every
core). For a GPU cluster, one per-epoch time for a full-QM9 epoch at width 128 (--gpu-epoch-seconds, not
measured here: no GPU was available) scales each training, and --gpus trainings run at once.
"""

import argparse
import math
import sys
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workflow_scripts.config.experiments import expand_experiments, reused_runs  # noqa: E402
from workflow_scripts.config.validation import load_yaml, validate_config  # noqa: E402
from workflow_scripts.data.metadata import read_metadata  # noqa: E402
from workflow_scripts.data.splits import make_split  # noqa: E402
from workflow_scripts.data.subsets import draw_all, validation_for  # noqa: E402
from workflow_scripts.training.budget import step_budget  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
VALIDATION_COST = 1 / 3  # forward only, against forward, backward and optimizer step


def rate_at(rates: dict[int, float], width: int, interactions: int) -> float:
    (w1, r1), (w2, r2) = sorted(rates.items())[:2]
    exponent = math.log(r2 / r1) / math.log(w2 / w1)
    return r1 * (width / w1) ** exponent * 3 / interactions


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--metadata", type=Path, default=REPO / "results/data/qm9.parquet")
    parser.add_argument("--rate", action="append", required=True, help="WIDTH=molecules/s at batch 512 (twice)")
    parser.add_argument("--gpus", type=int, default=8, help="trainings at once on the GPU cluster")
    parser.add_argument("--gpu-epoch-seconds", type=float, default=3.0,
                        help="seconds per full-QM9 training epoch at width 128 on one GPU (an assumption)")
    args = parser.parse_args()
    rates = {int(w): float(r) for w, r in (item.split("=") for item in args.rate)}
    if len(rates) < 2:
        parser.error("give --rate for two widths, e.g. --rate 128=400 --rate 38=1100")
    config = validate_config({**load_yaml(REPO / "config.yaml"), "scale": "thesis"})
    experiments = expand_experiments(config)
    reused = reused_runs(experiments, config["subsets"])
    meta = read_metadata(args.metadata)
    split_settings = config["split"]
    split = make_split(meta, None, split_settings["test_fraction"], split_settings["validation_fraction"],
                       split_settings["seed"])
    n_training_set = int((split["split"] == "train").sum())
    all_molecules = pq.read_metadata(args.metadata).num_rows
    drawn = draw_all(split, config["subsets"], seed=split_settings["seed"], all_molecules=all_molecules)
    sizes = {name: (len(drawn[name]), len(validation_for(split, definition)))
             for name, definition in config["subsets"].items()}
    cpu_seconds = gpu_seconds = 0.0
    runs = 0
    for experiment in experiments:
        n_train, n_val = sizes[experiment["subset"]]
        model, training = experiment["model"], experiment["training"]
        steps, epochs, every = step_budget(training, n_train, n_training_set)
        passes = steps * training["batch_size"] + (epochs // every) * n_val * VALIDATION_COST
        rate = rate_at(rates, model["n_atom_basis"], model["n_interactions"])
        gpu_rate = n_training_set / args.gpu_epoch_seconds * rate / rate_at(rates, 128, 3)
        trained = [s for s in experiment["seeds"] if (experiment["name"], s) not in reused]
        runs += len(trained)
        cpu_seconds += len(trained) * passes / rate
        gpu_seconds += len(trained) * passes / gpu_rate
    print(f"thesis scale: {runs} trainings ({len(reused)} more reuse identical ones), training set "
          f"{n_training_set:,} molecules")
    print(f"this CPU, one training after another: {cpu_seconds / 3600:,.1f} h ({cpu_seconds / 86400:,.1f} days)")
    print(f"GPU cluster at {args.gpu_epoch_seconds:g} s per full-QM9 epoch (width 128), {args.gpus} trainings at "
          f"once: {gpu_seconds / 3600 / min(args.gpus, runs):,.2f} h of training (one GPU alone: "
          f"{gpu_seconds / 3600:,.1f} h)")


if __name__ == "__main__":
    main()
