"""Per-stratum error metrics of U0 predictions with bootstrap confidence intervals.

A predictions frame has one row per held-out test molecule with the columns
``gdb_id``, ``n_atoms``, ``n_H`` .. ``n_F``, ``U0_true_eV`` and ``U0_pred_eV``.
Errors are ``U0_pred_eV - U0_true_eV``; MAE and RMSE are reported in meV, MSE
in eV^2 (the thesis's unit). Every confidence interval is a 95 % percentile
bootstrap over the molecules of the group.

Randomness: each group draws from its own generator, seeded from ``seed`` and
the group's identity, so a group's interval does not depend on which other
groups exist, the same seed always gives the same table, and the worst bin of
:func:`metrics_overall` repeats its row of :func:`metrics_by_size` exactly.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from workflow_scripts.properties import ELEMENTS, EV_TO_MEV, contains

METRIC_COLUMNS = (
    "count",
    "mae_meV",
    "rmse_meV",
    "mse_eV2",
    "mae_ci_low_meV",
    "mae_ci_high_meV",
    "rmse_ci_low_meV",
    "rmse_ci_high_meV",
    "mse_ci_low_eV2",
    "mse_ci_high_eV2",
)
CI_PERCENTILES = (2.5, 97.5)

# Bootstrap count matrices are built in chunks of about this many entries
# (32 MiB as float64), so memory stays bounded for any test set size.
_CHUNK_ENTRIES = 1 << 22

# Tags that keep the random streams of the three kinds of group apart.
_STREAM_SIZE, _STREAM_ELEMENT, _STREAM_ALL = 0, 1, 2


def resample_counts(n: int, n_resamples: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Yield bootstrap resamples of ``n`` items as float count matrices.

    Row ``b`` of a chunk says how often each item was drawn in resample ``b``
    (rows sum to ``n``); ``counts @ values / n`` is then the resampled mean of
    ``values``. The same matrix applied to several aligned arrays gives a
    paired bootstrap. Chunks together hold ``n_resamples`` rows.
    """
    if n < 1 or n_resamples < 1:
        raise ValueError(f"need n >= 1 and n_resamples >= 1, got n={n}, n_resamples={n_resamples}")
    rows = max(1, _CHUNK_ENTRIES // n)
    for start in range(0, n_resamples, rows):
        size = min(rows, n_resamples - start)
        drawn = rng.integers(0, n, size=(size, n)) + np.arange(size)[:, None] * n
        yield np.bincount(drawn.ravel(), minlength=size * n).reshape(size, n).astype(float)


def _point_and_bootstrap(errors_eV: np.ndarray, rng: np.random.Generator, n_resamples: int) -> tuple[tuple, tuple]:
    """(MAE meV, RMSE meV, MSE eV^2) of one group, as values and as arrays of their resamples."""
    n = errors_eV.size
    values = np.column_stack([np.abs(errors_eV), errors_eV**2])
    sums = np.concatenate([counts @ values for counts in resample_counts(n, n_resamples, rng)])
    boot_mae, boot_mse = sums[:, 0] / n * EV_TO_MEV, sums[:, 1] / n
    mae, mse = np.mean(values[:, 0]) * EV_TO_MEV, np.mean(values[:, 1])
    return (mae, np.sqrt(mse) * EV_TO_MEV, mse), (boot_mae, np.sqrt(boot_mse) * EV_TO_MEV, boot_mse)


def _summary(count: int, point, boot) -> dict:
    """Row of ``METRIC_COLUMNS`` from point (MAE, RMSE, MSE) values and their resampled arrays."""
    row = {"count": int(count), "mae_meV": float(point[0]), "rmse_meV": float(point[1]), "mse_eV2": float(point[2])}
    for name, unit, values in zip(("mae", "rmse", "mse"), ("meV", "meV", "eV2"), boot):
        low, high = np.percentile(values, CI_PERCENTILES)
        row[f"{name}_ci_low_{unit}"], row[f"{name}_ci_high_{unit}"] = float(low), float(high)
    return row


def metrics(errors_eV: np.ndarray, seed: int | np.random.Generator = 0, n_resamples: int = 1000) -> dict:
    """MAE, RMSE and MSE of one group of errors (eV) with 95 % bootstrap intervals.

    Returns the keys of ``METRIC_COLUMNS``. ``seed`` is an int or a numpy
    Generator (which is advanced). A single molecule gives intervals equal to
    the point values; an empty group raises ``ValueError`` (callers skip it).
    """
    errors_eV = np.asarray(errors_eV, dtype=float)
    if errors_eV.size == 0:
        raise ValueError("no errors: an empty group has no metrics")
    return _summary(errors_eV.size, *_point_and_bootstrap(errors_eV, np.random.default_rng(seed), n_resamples))


def _errors(pred: pd.DataFrame) -> np.ndarray:
    return (pred["U0_pred_eV"] - pred["U0_true_eV"]).to_numpy(dtype=float)


def _group_rng(seed: int, *tag: int) -> np.random.Generator:
    return np.random.default_rng([seed, *tag])


def metrics_by_size(
    pred: pd.DataFrame, frequent_sizes: set[int], n_resamples: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """One row per number of atoms in the test set, sorted by size.

    Columns: ``group`` (number of atoms), the ``METRIC_COLUMNS``, and
    ``frequent`` (the size is one of ``frequent_sizes``, the thesis's strata).
    """
    errors, sizes = _errors(pred), pred["n_atoms"].to_numpy()
    rows = []
    for size in np.unique(sizes):
        row = metrics(errors[sizes == size], _group_rng(seed, _STREAM_SIZE, int(size)), n_resamples)
        rows.append({"group": int(size), **row, "frequent": int(size) in frequent_sizes})
    return pd.DataFrame(rows, columns=["group", *METRIC_COLUMNS, "frequent"])


def metrics_by_element(pred: pd.DataFrame, n_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """One row per element of ``ELEMENTS`` present in the test set, in that order.

    A group holds every molecule that contains the element, so groups overlap
    (a molecule with N and O counts in both; every molecule has C or H).
    """
    errors = _errors(pred)
    rows = []
    for index, symbol in enumerate(ELEMENTS):
        has = contains(pred, symbol)
        if has.any():
            row = metrics(errors[has], _group_rng(seed, _STREAM_ELEMENT, index), n_resamples)
            rows.append({"group": symbol, **row})
    return pd.DataFrame(rows, columns=["group", *METRIC_COLUMNS])


def metrics_overall(
    pred: pd.DataFrame, frequent_sizes: set[int], n_resamples: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """Summary rows: ``all``, ``macro_frequent_sizes`` and ``worst_frequent_size``.

    ``all``: every test molecule. ``macro_frequent_sizes``: the unweighted mean
    over the frequent size bins of each bin's MAE, RMSE and MSE (each stratum
    counts the same, however many molecules it has); its interval resamples
    within each bin (stratified bootstrap, the same resamples as
    :func:`metrics_by_size`) and recomputes the mean; ``count`` is the number
    of molecules in those bins. ``worst_frequent_size``: the frequent bin with
    the highest MAE, whose number of atoms is in ``size`` (empty elsewhere).
    The two frequent-size rows are left out when no frequent size is in the test set.
    """
    errors, sizes = _errors(pred), pred["n_atoms"].to_numpy()
    rows = [{"group": "all", **metrics(errors, _group_rng(seed, _STREAM_ALL), n_resamples)}]
    present = sorted(int(s) for s in set(np.unique(sizes)) & set(frequent_sizes))
    if present:
        groups = [errors[sizes == size] for size in present]
        rngs = [_group_rng(seed, _STREAM_SIZE, size) for size in present]
        stats = [_point_and_bootstrap(group, rng, n_resamples) for group, rng in zip(groups, rngs)]
        points, boots = [point for point, _ in stats], [boot for _, boot in stats]
        # Mean over bins of each metric, for the point value and for every resample.
        macro = _summary(sum(g.size for g in groups), np.mean(points, axis=0), np.mean(boots, axis=0))
        rows.append({"group": "macro_frequent_sizes", **macro})
        worst = int(np.argmax([mae for mae, _, _ in points]))
        row = _summary(groups[worst].size, points[worst], boots[worst])
        rows.append({"group": "worst_frequent_size", **row, "size": present[worst]})
    table = pd.DataFrame(rows, columns=["group", *METRIC_COLUMNS, "size"])
    table["size"] = table["size"].astype("Int64")
    return table
