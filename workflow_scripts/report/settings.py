"""The run's settings in words: what the scale changes from the thesis, and the final comparison's two models."""

from __future__ import annotations

import re

from workflow_scripts import representations
from workflow_scripts.evaluation.units import DEFAULT_TARGET, is_default
from workflow_scripts.properties import N_QM9_CHARACTERIZED
from workflow_scripts.targets import Target

def networks(experiments: dict) -> str:
    """The representations the experiments train, in words ('SchNet', 'SchNet and PaiNN')."""
    labels = list(dict.fromkeys(representations.label(e.get("model", {})) for e in experiments.values()))
    return " and ".join([", ".join(labels[:-1]), labels[-1]] if len(labels) > 1 else labels) or "SchNet"


def _g(value) -> str:
    """A setting as written ('0.03', '5', '32'), '–' where the experiment does not set it."""
    return "–" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _count(value) -> str:
    return f"{int(value):,}" if value is not None else "all"


def thesis_settings(defaults: dict, test_fraction: float) -> dict:
    """The thesis's column, from the config: its ``defaults`` are the thesis's base model (the thesis scale's
    factors are 1.0), its split's test fraction the thesis's 20 % held out of all of QM9, one seed each."""
    model, training = defaults["model"], defaults["training"]
    return {"pool": f"{N_QM9_CHARACTERIZED:,} (all of QM9)",
            "test": f"{round(N_QM9_CHARACTERIZED * test_fraction):,} (the {test_fraction * 100:g} % validation set)",
            "epochs": training["epochs"], "batch": training["batch_size"], "width": model["n_atom_basis"],
            "interactions": model["n_interactions"], "lr": _g(training["lr"]), "seeds": str(len(defaults["seeds"]))}


def scale_rows(scale_settings: dict, base: dict, test_molecules: int | None, thesis: dict,
               target: Target = DEFAULT_TARGET) -> list[dict]:
    """(setting, thesis, this run) for what the scale changes; ``base``: the baseline experiment after scaling;
    ``thesis``: ``thesis_settings``. A study of another property than the thesis's U0 says so first."""
    model, training = base.get("model", {}), base.get("training", {})
    seeds = base.get("seeds", [])
    thesis_target = DEFAULT_TARGET
    other = [] if is_default(target) else [
        {"setting": "property (target)", "thesis": f"{thesis_target.symbol} ({thesis_target.display_unit})",
         "this_run": f"{target.symbol}, {target.title} ({target.display_unit})"}]
    return other + [
        {"setting": "molecules in the pool", "thesis": thesis["pool"],
         "this_run": _count(scale_settings.get("pool_size"))},
        {"setting": "test molecules", "thesis": thesis["test"],
         "this_run": _count(test_molecules) + " (held out, never trained or early-stopped on)"},
        {"setting": "epochs (baseline)", "thesis": thesis["epochs"], "this_run": training.get("epochs", "–")},
        {"setting": "batch size", "thesis": thesis["batch"], "this_run": training.get("batch_size", "–")},
        {"setting": "width (n_atom_basis)", "thesis": thesis["width"], "this_run": model.get("n_atom_basis", "–")},
        {"setting": "interaction blocks", "thesis": thesis["interactions"],
         "this_run": model.get("n_interactions", "–")},
        {"setting": "learning rate", "thesis": thesis["lr"], "this_run": _g(training.get("lr"))},
        {"setting": "seeds per compared arm", "thesis": thesis["seeds"], "this_run": str(len(seeds))},
        {"setting": "network (model.representation)", "thesis": "SchNet", "this_run": representations.label(model)},
    ]


def _loss(loss: dict) -> str:
    weighting = loss.get("weighting", "none")
    if weighting == "none":
        return "the plain squared-error loss"
    if weighting == "inverse_frequency":
        return f"inverse-frequency loss weights (alpha = {loss.get('alpha')})"
    return f"{weighting.replace('_', '-')}-weighted loss (r = {loss.get('rate')})"


def _epochs(training: dict) -> str:
    """How long it trained, by its budget rule."""
    if training.get("budget") == "epochs":
        return f"{_g(training.get('epochs'))} epochs over its own training molecules"
    return f"{_g(training.get('epochs'))} epochs' worth of steps"


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
            f"with batch {_g(training.get('batch_size'))}, {_epochs(training)}, "
            f"learning rate {_g(training.get('lr'))} and {_loss(experiment.get('loss', {}))}.")
