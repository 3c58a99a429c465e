"""Training subsets: the full training pool, per-size caps, size ranges (thesis §5)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workflow_scripts.properties import MAX_ATOMS, MIN_ATOMS


class SubsetError(ValueError):
    """A subset that cannot be trained on; the message names the config key."""


def cap_for_pool(cap: int, pool_molecules: int, all_molecules: int) -> int:
    """A cap stated for the full QM9, shrunk in proportion to a smaller pool."""
    return max(1, round(cap * pool_molecules / all_molecules))


def size_range(definition: dict) -> tuple[int, int]:
    """(min_atoms, max_atoms) of a subset definition; a bound it leaves out takes in every QM9 size."""
    return definition.get("min_atoms", MIN_ATOMS), definition.get("max_atoms", MAX_ATOMS)


def _within_size_range(frame: pd.DataFrame, definition: dict) -> pd.DataFrame:
    low, high = size_range(definition)
    return frame[(frame["n_atoms"] >= low) & (frame["n_atoms"] <= high)]


def select(split: pd.DataFrame, definition: dict, seed: int, cap: int | None = None) -> pd.DataFrame:
    """The training molecules of ``split`` that the subset ``definition`` keeps.

    ``cap`` (already scaled to the pool) keeps at most that many molecules of
    each size, drawn at random with ``seed``; sizes below the cap keep all.
    """
    chosen = _within_size_range(split[split["split"] == "train"], definition)
    if cap is not None:
        rng = np.random.default_rng(seed)
        shuffled = chosen.iloc[rng.permutation(len(chosen))]
        chosen = shuffled[shuffled.groupby("n_atoms").cumcount() < cap]
    return chosen.sort_values("gdb_id").reset_index(drop=True)


def validation_for(split: pd.DataFrame, definition: dict, which: str = "subset_sizes") -> pd.DataFrame:
    """Validation molecules for a subset: same size range as its training data (``subset_sizes``), or the whole
    validation set (``full``, the baseline's: an experiment compared with the baseline chooses its checkpoint
    on the same molecules).

    Caps are not applied: early stopping should judge the model on the
    distribution the experiment aims at, and caps only re-weight it.
    """
    val = split[split["split"] == "val"]
    if which == "subset_sizes":
        val = _within_size_range(val, definition)
    return val.sort_values("gdb_id").reset_index(drop=True)


def check_not_empty(name: str, n_train: int, n_val: int) -> None:
    if n_train == 0 or n_val == 0:
        which = "training" if n_train == 0 else "validation"
        raise SubsetError(
            f"config: subsets.{name} selects no {which} molecule at this scale; widen its min_atoms/max_atoms, "
            "raise cap_per_size, or use a larger scale / data.max_molecules"
        )


def check_batch_fits(name: str, n_train: int, batch_size: int, experiment: str) -> None:
    """Checked as a training job starts, before it trains (the subset rule does not know the batch sizes)."""
    if n_train < batch_size:
        raise SubsetError(
            f"config: subsets.{name} holds {n_train} training molecules, fewer than one batch of experiment "
            f"{experiment} (training.batch_size {batch_size} at this scale); lower the batch size or enlarge the subset"
        )


def size_counts(frame: pd.DataFrame) -> pd.DataFrame:
    counts = frame["n_atoms"].value_counts().sort_index()
    return pd.DataFrame({"n_atoms": counts.index.astype(int), "molecules": counts.to_numpy()})
