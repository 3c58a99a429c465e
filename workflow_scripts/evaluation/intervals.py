"""Seed-aware 95 % intervals: seed-to-seed variation and test-set sampling in one interval.

A statistic of the study (a stratum's MAE, a difference of MAEs between two experiments, a correlation) is
computed per training seed and averaged over an experiment's seeds; a comparison is a signed sum of such
averages, ``T = sum_a c_a * mean_s theta[a, s]``. Two sources of variation move ``T``:

- **seeds**: another seed trains another model. Estimated from the spread of ``theta[a, s]`` over each
  experiment's seeds, ``v_seed = sum_a c_a**2 * var_s(theta[a, s]) / n_a`` (sample variances);
- **test molecules**: another held-out set of the same size. Estimated by a paired bootstrap over the test
  molecules with the seeds held fixed, ``v_test = var_r(T_r)``.

The interval is ``T +- t * sqrt(v_seed + v_test)`` with Student's t at the Welch-Satterthwaite degrees of
freedom of that sum (the seed part has ``n_a - 1`` per experiment, the bootstrap part counts as exact), so two
seeds per experiment widen the interval as much as two seeds should. Where the seeds' variance is estimated as
exactly 0 (seeds that agree), that formula gives infinite degrees of freedom, a normal quantile on a variance
that two values estimated; the degrees of freedom are then the seeds' own, ``sum_a (n_a - 1)``: seeds that
agree are no evidence that seeds cannot disagree. An experiment with one seed has no estimate of its seed
variance: the interval is then the test-set part alone and is flagged (``seed_variance_known`` False); verdicts
treat it as inconclusive.

tests/unit/test_intervals.py checks the coverage by simulation: a null effect is excluded in about 5 % of repeats,
and a molecule-only bootstrap (what the study reported before) excludes it far more often.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from scipy import stats

from workflow_scripts.evaluation.units import ci_columns

LEVEL = 0.95


def t_quantile(df: float, level: float = LEVEL) -> float:
    """Two-sided Student's t quantile; the normal one for infinite degrees of freedom."""
    if not np.isfinite(df):
        return float(stats.norm.ppf(0.5 + level / 2))
    return float(stats.t.ppf(0.5 + level / 2, df))


def combine(value: float, seed_parts: list[tuple[float, int]], v_test: float, level: float = LEVEL) -> dict:
    """The interval of ``value`` from seed-variance parts ``(c**2 * var / n, n)`` and a test-set variance.

    Returns ``value``, ``low``, ``high``, ``se``, ``df``, ``p_value`` (two-sided, of ``value`` = 0; see
    :func:`p_value` for another bound) and ``seed_variance_known``. A part with ``n < 2`` has an unknown
    variance: it adds nothing, and ``seed_variance_known`` is False.
    """
    known = all(n >= 2 for _, n in seed_parts)
    parts = [(v, n) for v, n in seed_parts if n >= 2 and np.isfinite(v)]
    v_seed = sum(v for v, _ in parts)
    v_test = float(v_test) if np.isfinite(v_test) else 0.0
    total = v_seed + v_test
    denominator = sum(v**2 / (n - 1) for v, n in parts)
    seeds_df = sum(n - 1 for _, n in parts)
    # seeds that agree exactly: the seeds' own degrees of freedom, never a normal quantile (module text)
    df = total**2 / denominator if denominator > 0 else (seeds_df or math.inf)
    half = t_quantile(df, level) * math.sqrt(total) if np.isfinite(value) else math.nan
    return {"value": float(value), "low": float(value - half), "high": float(value + half),
            "se": math.sqrt(total), "df": float(df), "p_value": p_value(value, 0.0, math.sqrt(total), df),
            "seed_variance_known": known}


def p_value(value: float, bound: float, se: float, df: float) -> float:
    """Two-sided p of ``value`` = ``bound`` on the interval's t scale: below ``1 - LEVEL`` exactly when the
    interval excludes ``bound``. NaN where the interval is undefined."""
    if not np.isfinite([value, bound, se]).all():
        return math.nan
    if se == 0:
        return 1.0 if value == bound else 0.0
    t = abs(value - bound) / se
    tail = stats.norm.sf(t) if not np.isfinite(df) else stats.t.sf(t, df)
    return float(min(1.0, 2 * tail))


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values (as statsmodels' ``multipletests(method="holm")``,
    which tests/unit/test_intervals.py checks it against; that call also runs a full garbage collection, a
    tenth of a second each time); NaN stays NaN and is left out of the family."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(len(p), np.nan)
    known = np.flatnonzero(np.isfinite(p))
    order = known[np.argsort(p[known], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted


def comparison_interval(per_seed: Mapping[str, np.ndarray], boot: np.ndarray, coefficients: Mapping[str, float],
                        level: float = LEVEL) -> dict:
    """Interval of ``T = sum_a c_a * mean(per_seed[a])`` (see the module text).

    ``per_seed[a]``: the statistic of experiment ``a`` per seed, on the whole test set. ``boot``: ``T`` on each
    bootstrap resample of the test molecules (seeds averaged as in ``T``); NaN resamples are left out.
    Adds ``n_seeds`` (the fewest of any experiment) to :func:`combine`'s keys.
    """
    value = sum(c * float(np.mean(per_seed[a])) for a, c in coefficients.items())
    parts = []
    for a, c in coefficients.items():
        values = np.asarray(per_seed[a], dtype=float)
        variance = float(np.var(values, ddof=1)) if len(values) > 1 else math.nan
        parts.append((c**2 * variance / len(values), len(values)))
    boot = np.asarray(boot, dtype=float)
    boot = boot[np.isfinite(boot)]
    v_test = float(np.var(boot, ddof=1)) if len(boot) > 1 else math.nan
    result = combine(value, parts, v_test, level)
    result["n_seeds"] = min(len(per_seed[a]) for a in coefficients)
    return result


def stratum_interval(values: np.ndarray, test_low: np.ndarray, test_high: np.ndarray, level: float = LEVEL) -> dict:
    """Seed-aware interval of one stratum's metric averaged over seeds, from per-seed values and their
    per-seed test-set bootstrap intervals (the per-run metrics tables).

    Test-set noise is shared by the seeds (one test set), so its variance is the mean of the per-seed
    ones, not divided by the number of seeds.
    """
    values = np.asarray(values, dtype=float)
    half = (np.asarray(test_high, dtype=float) - np.asarray(test_low, dtype=float)) / 2
    se_test = half / t_quantile(math.inf, level)
    v_test = float(np.nanmean(se_test**2)) if np.isfinite(se_test).any() else 0.0
    n = len(values)
    variance = float(np.var(values, ddof=1)) if n > 1 else math.nan
    result = combine(float(np.mean(values)), [(variance / n, n)], v_test, level)
    result["n_seeds"] = n
    return result


def seed_summary(table, metric: str, by=("experiment", "group")):
    """Per ``by`` group of a long metrics table (one row per seed): the seed mean of ``metric`` with its
    seed-aware interval (:func:`stratum_interval`) from the per-seed values and their test-set intervals.

    ``metric`` is a column such as ``mae_meV`` (``mae_D``: the target's, stratum_metrics.metric_columns), whose
    interval columns are ``mae_ci_low_meV`` and ``mae_ci_high_meV``. Columns: ``by``, ``value``, ``low``, ``high``,
    ``n_seeds``, ``seed_values`` (a tuple), ``seed_variance_known`` and ``count`` (the largest test count, where the
    table has one).
    """
    import pandas as pd

    low_col, high_col = ci_columns(metric)
    rows = []
    for key, group in table.dropna(subset=[metric]).groupby(list(by), sort=False):
        group = group.sort_values("seed") if "seed" in group else group
        values = group[metric].to_numpy(dtype=float)
        if low_col in group and high_col in group:
            low, high = group[low_col].to_numpy(dtype=float), group[high_col].to_numpy(dtype=float)
        else:
            low = high = values
        interval = stratum_interval(values, low, high)
        row = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        row.update(value=interval["value"], low=interval["low"], high=interval["high"], n_seeds=len(values),
                   seed_values=tuple(values), seed_variance_known=interval["seed_variance_known"])
        if "count" in group:
            row["count"] = group["count"].max()
        rows.append(row)
    columns = [*by, "value", "low", "high", "n_seeds", "seed_values", "seed_variance_known", "count"]
    return pd.DataFrame(rows, columns=columns)
