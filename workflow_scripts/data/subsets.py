"""Training subsets: the full training pool, per-size caps, size ranges (thesis §5), and random subsets without
balancing, of the size of another subset or a fraction of the training set (the data-size controls of H3 and the
learning curve)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workflow_scripts.data.splits import IN_POOL
from workflow_scripts.properties import MAX_ATOMS, MIN_ATOMS

# Random subsets draw from a stream of the split seed of their own (the split draws with streams 0 and 1, the caps
# with the seed alone): a control is not the caps' draw again.
RANDOM_STREAM = 100
# The keys of a random subset; it takes no other key (it draws from the whole training set, every size alike).
RANDOM_KEYS = ("same_size_as", "fraction")


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


def is_random(definition: dict) -> bool:
    """A random subset: drawn at random from the training set, without balancing, of a stated size."""
    return any(key in definition for key in RANDOM_KEYS)


def random_size(definition: dict, n_train: int, same_size: int | None = None) -> int:
    """Molecules of a random subset: ``same_size``, the molecules its ``same_size_as`` subset actually holds (a cap
    shrinks with the pool), or its ``fraction`` of the ``n_train`` training molecules."""
    if "same_size_as" in definition:
        if same_size is None:
            raise ValueError("a same_size_as subset needs the size of the subset it matches")
        return same_size
    return round(definition["fraction"] * n_train)


def select_random(split: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """``n`` training molecules of ``split`` drawn at random, every size alike (no balancing).

    One seeded order of the training molecules, its first ``n``: random subsets of one split are nested (a smaller
    one lies within a larger), so the learning curve's points differ by data added, not by another draw.
    """
    train = split[split["split"] == "train"].sort_values("gdb_id")
    if not 0 <= n <= len(train):
        raise SubsetError(f"a random subset of {n} molecules cannot be drawn from {len(train)} training molecules")
    order = np.random.default_rng([seed, RANDOM_STREAM]).permutation(len(train))
    return train.iloc[np.sort(order[:n])].reset_index(drop=True)


def draw(split: pd.DataFrame, definition: dict, seed: int, all_molecules: int,
         same_size: int | None = None) -> tuple[pd.DataFrame, int | None]:
    """The training molecules of the subset ``definition`` and its cap scaled to the pool (None: no cap).

    ``all_molecules``: QM9's molecules (what caps are stated for); ``same_size``: see :func:`random_size`;
    caps shrink with the pool: the split's molecules ``in_pool`` (it also lists extra test molecules from outside
    the pool, which caps must not count).
    """
    pool = int(split[IN_POOL].sum()) if IN_POOL in split else len(split)
    if is_random(definition):
        n_train = int((split["split"] == "train").sum())
        return select_random(split, random_size(definition, n_train, same_size), seed), None
    cap = cap_for_pool(definition["cap_per_size"], pool, all_molecules) if "cap_per_size" in definition \
        else None
    return select(split, definition, seed, cap), cap


def draw_all(split: pd.DataFrame, definitions: dict, seed: int, all_molecules: int) -> dict[str, pd.DataFrame]:
    """Every subset of ``definitions`` (name -> definition): those matched in size first, as rule subset draws them."""
    ordered = sorted(definitions, key=lambda name: "same_size_as" in definitions[name])
    drawn = {}
    for name in ordered:
        definition = definitions[name]
        target = definition.get("same_size_as")
        drawn[name] = draw(split, definition, seed, all_molecules,
                           same_size=len(drawn[target]) if target else None)[0]
    return drawn


def validation_for(split: pd.DataFrame, definition: dict, which: str = "subset_sizes") -> pd.DataFrame:
    """Validation molecules for a subset: same size range as its training data (``subset_sizes``), or the whole
    validation set (``full``, the baseline's: an experiment compared with the baseline chooses its checkpoint
    on the same molecules).

    Caps are not applied: early stopping should judge the model on the
    distribution the experiment aims at, and caps only re-weight it. A random
    subset has no size range: it validates on the whole validation set.
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
