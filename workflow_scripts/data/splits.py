"""The study's molecule pool and its one held-out test / validation / training split.

Every experiment draws from the same split, so their test errors are
comparable. The split is stratified by molecule size and by fluorine content
(the rarest element), fixed by a seed, and stored as molecule ids.

A scale's ``test_size`` can make the test set larger than the pool's test
part: the extra test molecules come from the QM9 molecules outside the pool,
drawn the same way, so the training and validation molecules (and hence the
trained models) stay those of the pool alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workflow_scripts.config import ConfigError
from workflow_scripts.properties import COUNT_COLUMNS, ELEMENTS, contains

SPLITS = ("train", "val", "test")
# Split-table column: True for the pool's molecules, False for the extra test molecules from outside it.
IN_POOL = "in_pool"


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


def _evenly_spread(n: int, k: int) -> np.ndarray:
    """Boolean mask picking exactly ``k`` of ``n`` ordered items, evenly spread.

    ``_systematic_pick`` in integers: its float fraction ``k / n`` can round the count down by one.
    """
    position = np.arange(n, dtype=np.int64)
    return (position + 1) * k // n > position * k // n


def pool_counts(n_molecules: int, pool_size: int | None, test_fraction: float) -> tuple[int, int]:
    """(molecules in the pool, of them in its test part) that sample_pool and assign_splits give."""
    pool = n_molecules
    if pool_size is not None and pool_size < n_molecules:
        pool = int(_systematic_pick(n_molecules, pool_size / n_molecules).sum())
    return pool, int(_systematic_pick(pool, test_fraction).sum())


def check_test_size(test_size: int | None, scale: str, n_molecules: int, pool: int, pool_test: int) -> None:
    """Raise ConfigError unless ``test_size`` lies between the pool's test part and what QM9 holds outside the pool."""
    if test_size is None:
        return
    key = f"scales.{scale}.test_size"
    if test_size < pool_test:
        raise ConfigError(
            f"config: {key} = {test_size} is smaller than the pool's own test part ({pool_test} molecules: "
            f"{pool} pool molecules x split.test_fraction); raise it to at least {pool_test}, or set it to null "
            "(the pool's test part alone)"
        )
    outside = n_molecules - pool
    if test_size - pool_test > outside:
        raise ConfigError(
            f"config: {key} = {test_size} needs {test_size - pool_test} test molecules from outside the pool, but "
            f"only {outside} of the {n_molecules} molecules read (QM9 within data.max_molecules) lie outside the "
            f"pool of {pool}; lower it to at most {pool_test + outside}, set it to null (the pool's test part "
            "alone), or raise data.max_molecules"
        )


def extra_test_molecules(meta: pd.DataFrame, pool_ids, n: int, seed: int) -> pd.DataFrame:
    """``n`` molecules from outside the pool, stratified by size and F content as the pool is; sorted by gdb_id."""
    outside = meta[~meta["gdb_id"].isin(pool_ids)].reset_index(drop=True)
    # a stream of its own: [seed, 0] drew the pool and [seed, 1] split it
    order = _stratified_order(outside, np.random.default_rng([seed, 2]))
    chosen = order[_evenly_spread(len(outside), n)]
    return outside.iloc[chosen].sort_values("gdb_id").reset_index(drop=True)


def add_test_molecules(meta: pd.DataFrame, split: pd.DataFrame, test_size: int | None, seed: int,
                       scale: str = "<scale>") -> pd.DataFrame:
    """``split`` with an ``in_pool`` column and, for ``test_size``, extra test molecules from outside the pool.

    The pool's rows come first and unchanged, so each keeps its row in the packed store and the database;
    the extra molecules follow as split "test" (``in_pool`` False), ``test_size`` test molecules in all.
    """
    split = split.assign(**{IN_POOL: True})
    if test_size is None:
        return split
    pool_test = int((split["split"] == "test").sum())
    check_test_size(test_size, scale, len(meta), len(split), pool_test)
    extra = extra_test_molecules(meta, split["gdb_id"], test_size - pool_test, seed)
    extra = extra[["gdb_id", "n_atoms", *COUNT_COLUMNS]].assign(
        split=pd.Categorical(["test"] * len(extra), categories=list(SPLITS)), **{IN_POOL: False})
    return pd.concat([split, extra], ignore_index=True)


def make_split(meta: pd.DataFrame, pool_size, test_fraction, validation_fraction, seed, test_size=None,
               scale: str = "<scale>") -> pd.DataFrame:
    """The pool's split, plus extra test molecules up to ``test_size`` (``scale``: the config entry, for errors)."""
    pool = sample_pool(meta, pool_size, seed)
    split = assign_splits(pool, test_fraction, validation_fraction, seed)
    return add_test_molecules(meta, split, test_size, seed, scale)


def held_out_counts(split: pd.DataFrame) -> dict[str, dict]:
    """Test molecules per size bin and per element group (a molecule counts in each element it holds)."""
    test = split[split["split"] == "test"]
    by_size = test["n_atoms"].value_counts().sort_index()
    return {"by_size": {int(size): int(n) for size, n in by_size.items()},
            "by_element": {symbol: int(contains(test, symbol).sum()) for symbol in ELEMENTS}}
