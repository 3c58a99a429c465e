"""Per-stratum error metrics of the study's target's predictions with bootstrap confidence intervals.

A predictions frame has one row per held-out test molecule with the columns
``gdb_id``, ``n_atoms``, ``n_H`` .. ``n_F`` and the target's ``true_column`` and
``pred_column`` (stored unit: ``U0_true_eV``, ``U0_pred_eV`` for U0). Errors are
predicted minus true; MAE and RMSE are reported in the display unit (meV for
the energies), MSE in the stored unit squared (eV^2, the thesis's unit), under
the target's column names (``metric_columns``). Every confidence interval is a
95 % percentile bootstrap over the molecules of the group.

Randomness: each group draws from its own generator, seeded from ``seed`` and
the group's identity, so a group's interval does not depend on which other
groups exist, the same seed always gives the same table, and the worst bin of
:func:`metrics_overall` repeats its row of :func:`metrics_by_size` exactly.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from workflow_scripts.evaluation.units import DEFAULT_TARGET, ci_columns
from workflow_scripts.properties import ELEMENTS, contains
from workflow_scripts.targets import Target


def point_columns(target: Target = DEFAULT_TARGET) -> tuple[str, str, str]:
    """The MAE, RMSE and MSE columns: ``mae_meV``, ``rmse_meV``, ``mse_eV2`` for U0; ``mae_D``, ``rmse_D``,
    ``mse_D2`` for the dipole moment."""
    return target.metric("mae"), target.metric("rmse"), target.mse_column


def metric_columns(target: Target = DEFAULT_TARGET) -> tuple[str, ...]:
    """``count``, the point columns, then each one's interval (``mae_ci_low_meV``, ``mae_ci_high_meV``, ...)."""
    points = point_columns(target)
    return ("count", *points, *(column for point in points for column in ci_columns(point)))


METRIC_COLUMNS = metric_columns()  # U0's
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


def _point_and_bootstrap(errors: np.ndarray, rng: np.random.Generator, n_resamples: int,
                         factor: float) -> tuple[tuple, tuple]:
    """(MAE, RMSE in the display unit, MSE in the stored unit squared) of one group of errors (stored unit),
    as values and as arrays of their resamples; ``factor``: display = factor * stored."""
    n = errors.size
    values = np.column_stack([np.abs(errors), errors**2])
    sums = np.concatenate([counts @ values for counts in resample_counts(n, n_resamples, rng)])
    boot_mae, boot_mse = sums[:, 0] / n * factor, sums[:, 1] / n
    mae, mse = np.mean(values[:, 0]) * factor, np.mean(values[:, 1])
    return (mae, np.sqrt(mse) * factor, mse), (boot_mae, np.sqrt(boot_mse) * factor, boot_mse)


def _summary(count: int, point, boot, target: Target) -> dict:
    """Row of ``metric_columns(target)`` from point (MAE, RMSE, MSE) values and their resampled arrays."""
    row = {"count": int(count)}
    row.update((column, float(value)) for column, value in zip(point_columns(target), point))
    for column, values in zip(point_columns(target), boot):
        low, high = np.percentile(values, CI_PERCENTILES)
        low_column, high_column = ci_columns(column)
        row[low_column], row[high_column] = float(low), float(high)
    return row


def metrics(errors: np.ndarray, seed: int | np.random.Generator = 0, n_resamples: int = 1000, *,
            target: Target = DEFAULT_TARGET) -> dict:
    """MAE, RMSE and MSE of one group of errors (the target's stored unit: eV for U0) with 95 % bootstrap
    intervals.

    Returns the keys of ``metric_columns(target)``. ``seed`` is an int or a numpy
    Generator (which is advanced). A single molecule gives intervals equal to
    the point values; an empty group raises ``ValueError`` (callers skip it).
    """
    errors = np.asarray(errors, dtype=float)
    if errors.size == 0:
        raise ValueError("no errors: an empty group has no metrics")
    stats = _point_and_bootstrap(errors, np.random.default_rng(seed), n_resamples, target.factor)
    return _summary(errors.size, *stats, target)


def errors_of(pred: pd.DataFrame, target: Target = DEFAULT_TARGET) -> np.ndarray:
    """Predicted minus true value of each molecule of a predictions frame, in the target's stored unit."""
    return (pred[target.pred_column] - pred[target.true_column]).to_numpy(dtype=float)


def _group_rng(seed: int, *tag: int) -> np.random.Generator:
    return np.random.default_rng([seed, *tag])


def metrics_by_size(
    pred: pd.DataFrame, frequent_sizes: set[int], n_resamples: int = 1000, seed: int = 0, *,
    target: Target = DEFAULT_TARGET
) -> pd.DataFrame:
    """One row per number of atoms in the test set, sorted by size.

    Columns: ``group`` (number of atoms), the ``metric_columns(target)``, and
    ``frequent`` (the size is one of ``frequent_sizes``, the thesis's strata).
    """
    errors, sizes = errors_of(pred, target), pred["n_atoms"].to_numpy()
    rows = []
    for size in np.unique(sizes):
        row = metrics(errors[sizes == size], _group_rng(seed, _STREAM_SIZE, int(size)), n_resamples, target=target)
        rows.append({"group": int(size), **row, "frequent": int(size) in frequent_sizes})
    return pd.DataFrame(rows, columns=["group", *metric_columns(target), "frequent"])


def metrics_by_element(pred: pd.DataFrame, n_resamples: int = 1000, seed: int = 0, *,
                       target: Target = DEFAULT_TARGET) -> pd.DataFrame:
    """One row per element of ``ELEMENTS`` present in the test set, in that order.

    A group holds every molecule that contains the element, so groups overlap
    (a molecule with N and O counts in both; every molecule has C or H).
    """
    errors = errors_of(pred, target)
    rows = []
    for index, symbol in enumerate(ELEMENTS):
        has = contains(pred, symbol)
        if has.any():
            row = metrics(errors[has], _group_rng(seed, _STREAM_ELEMENT, index), n_resamples, target=target)
            rows.append({"group": symbol, **row})
    return pd.DataFrame(rows, columns=["group", *metric_columns(target)])


def metrics_overall(
    pred: pd.DataFrame, frequent_sizes: set[int], n_resamples: int = 1000, seed: int = 0, *,
    target: Target = DEFAULT_TARGET
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
    errors, sizes = errors_of(pred, target), pred["n_atoms"].to_numpy()
    rows = [{"group": "all", **metrics(errors, _group_rng(seed, _STREAM_ALL), n_resamples, target=target)}]
    present = sorted(int(s) for s in set(np.unique(sizes)) & set(frequent_sizes))
    if present:
        groups = [errors[sizes == size] for size in present]
        rngs = [_group_rng(seed, _STREAM_SIZE, size) for size in present]
        stats = [_point_and_bootstrap(group, rng, n_resamples, target.factor) for group, rng in zip(groups, rngs)]
        points, boots = [point for point, _ in stats], [boot for _, boot in stats]
        # Mean over bins of each metric, for the point value and for every resample.
        macro = _summary(sum(g.size for g in groups), np.mean(points, axis=0), np.mean(boots, axis=0), target)
        rows.append({"group": "macro_frequent_sizes", **macro})
        worst = int(np.argmax([mae for mae, _, _ in points]))
        row = _summary(groups[worst].size, points[worst], boots[worst], target)
        rows.append({"group": "worst_frequent_size", **row, "size": present[worst]})
    table = pd.DataFrame(rows, columns=["group", *metric_columns(target), "size"])
    table["size"] = table["size"].astype("Int64")
    return table
