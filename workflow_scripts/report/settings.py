"""The run's settings in words: what the scale changes from the thesis, and the final comparison's two models."""

from __future__ import annotations

import re

from workflow_scripts import representations

# The thesis's settings (docs/study.md, thesis §4.3): all of QM9 (130,831 characterized molecules), 80/20 split,
# one run per experiment, the base model's defaults (config.yaml defaults).
THESIS = {"pool": "130,831 (all of QM9)", "test": "26,166 (the 20 % validation set)", "epochs": 22,
          "batch": 512, "width": 128, "interactions": 3, "lr": "0.001", "seeds": "1"}


def networks(experiments: dict) -> str:
    """The representations the experiments train, in words ('SchNet', 'SchNet and PaiNN')."""
    labels = list(dict.fromkeys(representations.label(e.get("model", {})) for e in experiments.values()))
    return " and ".join([", ".join(labels[:-1]), labels[-1]] if len(labels) > 1 else labels) or "SchNet"


def _g(value) -> str:
    """A setting as written ('0.03', '5', '32'), '–' where the experiment does not set it."""
    return "–" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _count(value) -> str:
    return f"{int(value):,}" if value is not None else "all"


def scale_rows(scale_settings: dict, base: dict, test_molecules: int | None) -> list[dict]:
    """(setting, thesis, this run) for what the scale changes; ``base``: the baseline experiment after scaling."""
    model, training = base.get("model", {}), base.get("training", {})
    seeds = base.get("seeds", [])
    return [
        {"setting": "molecules in the pool", "thesis": THESIS["pool"],
         "this_run": _count(scale_settings.get("pool_size"))},
        {"setting": "test molecules", "thesis": THESIS["test"],
         "this_run": _count(test_molecules) + " (held out, never trained or early-stopped on)"},
        {"setting": "epochs (baseline)", "thesis": THESIS["epochs"], "this_run": training.get("epochs", "–")},
        {"setting": "batch size", "thesis": THESIS["batch"], "this_run": training.get("batch_size", "–")},
        {"setting": "width (n_atom_basis)", "thesis": THESIS["width"], "this_run": model.get("n_atom_basis", "–")},
        {"setting": "interaction blocks", "thesis": THESIS["interactions"],
         "this_run": model.get("n_interactions", "–")},
        {"setting": "learning rate", "thesis": THESIS["lr"], "this_run": _g(training.get("lr"))},
        {"setting": "seeds per compared arm", "thesis": THESIS["seeds"], "this_run": str(len(seeds))},
        {"setting": "network (model.representation)", "thesis": "SchNet", "this_run": representations.label(model)},
    ]


def _loss(loss: dict) -> str:
    weighting = loss.get("weighting", "none")
    if weighting == "none":
        return "the plain squared-error loss"
    if weighting == "inverse_frequency":
        return f"inverse-frequency loss weights (alpha = {loss.get('alpha')})"
    return f"{weighting.replace('_', '-')}-weighted loss (r = {loss.get('rate')})"


def model_sentence(label: str, name: str, experiment: dict, n_train) -> str:
    """'Default (baseline): trained on all 2,800 training molecules, ...' in one sentence."""
    model, training = experiment.get("model", {}), experiment.get("training", {})
    subset = experiment.get("subset", "full")
    molecules = f"{int(n_train):,} " if n_train is not None and n_train == n_train else ""
    above = re.fullmatch(r"more_than_(\d+)", subset)
    data = (f"all {molecules}training molecules" if subset == "full" else
            f"the {molecules}training molecules with more than {above.group(1)} atoms" if above else
            f"the {molecules}training molecules of subset {subset}")
    return (f"{label} ({name}): {representations.label(model)} of width {_g(model.get('n_atom_basis'))} with "
            f"{_g(model.get('n_interactions'))} interaction blocks, data cutoff {_g(model.get('data_cutoff'))} Å "
            f"and model cutoff {_g(model.get('model_cutoff'))} Å, trained on {data} "
            f"with batch {_g(training.get('batch_size'))}, {_g(training.get('epochs'))} epochs' worth of steps, "
            f"learning rate {_g(training.get('lr'))} and {_loss(experiment.get('loss', {}))}.")
