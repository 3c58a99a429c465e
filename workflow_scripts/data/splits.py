"""The study's molecule pool and its one held-out test / validation / training split.

Every experiment draws from the same split, so their test errors are
comparable. The split is stratified by molecule size and by fluorine content
(the rarest element), fixed by a seed, and stored as molecule ids.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workflow_scripts.properties import COUNT_COLUMNS

SPLITS = ("train", "val", "test")


def strata(meta: pd.DataFrame) -> pd.Series:
    return meta["n_atoms"].astype(str) + "_" + (meta["n_F"] > 0).map({True: "F", False: "noF"})


def _stratified_order(meta: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Row positions grouped by stratum, shuffled within each stratum.

    Taking every k-th molecule of this order gives each stratum its share
    (to within one molecule): systematic stratified sampling.
    """
    keys = strata(meta).to_numpy()
    random_key = rng.random(len(meta))
    return np.lexsort((random_key, keys))


def _systematic_pick(n: int, fraction: float) -> np.ndarray:
    """Boolean mask picking round(n * fraction) of n ordered items, evenly spread."""
    position = np.arange(n)
    return np.floor((position + 1) * fraction) > np.floor(position * fraction)


def sample_pool(meta: pd.DataFrame, pool_size: int | None, seed: int) -> pd.DataFrame:
    """``pool_size`` molecules drawn stratified by size and F content (all if None)."""
    if pool_size is None or pool_size >= len(meta):
        return meta.sort_values("gdb_id").reset_index(drop=True)
    rng = np.random.default_rng([seed, 0])
    order = _stratified_order(meta, rng)
    chosen = order[_systematic_pick(len(meta), pool_size / len(meta))]
    return meta.iloc[chosen].sort_values("gdb_id").reset_index(drop=True)


def assign_splits(pool: pd.DataFrame, test_fraction: float, validation_fraction: float, seed: int) -> pd.DataFrame:
    """``pool`` with a ``split`` column: test, val or train (stratified)."""
    rng = np.random.default_rng([seed, 1])
    order = _stratified_order(pool, rng)
    split = np.full(len(pool), "train", dtype=object)
    is_test = _systematic_pick(len(order), test_fraction)
    split[order[is_test]] = "test"
    rest = order[~is_test]
    is_val = _systematic_pick(len(rest), validation_fraction / (1.0 - test_fraction))
    split[rest[is_val]] = "val"
    out = pool[["gdb_id", "n_atoms", *COUNT_COLUMNS]].copy()
    out["split"] = pd.Categorical(split, categories=list(SPLITS))
    return out


def make_split(meta: pd.DataFrame, pool_size, test_fraction, validation_fraction, seed) -> pd.DataFrame:
    pool = sample_pool(meta, pool_size, seed)
    return assign_splits(pool, test_fraction, validation_fraction, seed)
