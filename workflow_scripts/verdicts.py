"""Verdicts on the study's hypotheses H1-H4, computed from the test predictions.

Input: ``{(experiment, seed): predictions frame}`` (columns as in
:mod:`workflow_scripts.evaluation`); every frame holds the same held-out test
molecules, so experiments are compared molecule by molecule.

Uncertainty: a paired bootstrap over the test molecules. Each resample draws
the molecules once and applies that draw to every experiment and seed
involved, so the interval of a difference reflects only the test molecules
that differ, not the noise common to both models. Seeds are combined by
averaging the statistic over an experiment's seeds (in the point value and in
every resample); the interval therefore covers test-set sampling, not
seed-to-seed variation, and each explanation says how many seeds went in.

Each hypothesis function returns a dict (H3: one per balanced experiment) with
``hypothesis``, ``comparison``, ``statement``, ``statistic``, ``value``,
``ci_low``, ``ci_high`` (95 %), ``n_seeds`` (the fewest seeds of any
experiment involved), ``verdict`` ("supported", "not supported",
"inconclusive") and a one-sentence ``explanation``; H3 and H4 add a
``secondary_*`` statistic with its interval.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from .constants import ELEMENTS, EV_TO_MEV
from .evaluation import CI_PERCENTILES, resample_counts

Predictions = Mapping[tuple[str, int], pd.DataFrame]

SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE = "supported", "not supported", "inconclusive"
TABLE_COLUMNS = (
    "hypothesis",
    "comparison",
    "statement",
    "statistic",
    "value",
    "ci_low",
    "ci_high",
    "n_seeds",
    "verdict",
    "explanation",
    "secondary_statistic",
    "secondary_value",
    "secondary_ci_low",
    "secondary_ci_high",
)


def size_counts(train_df: pd.DataFrame) -> dict[int, int]:
    """Training molecules per number of atoms (the frequencies of H1)."""
    return {int(size): int(count) for size, count in train_df["n_atoms"].value_counts().items()}


def element_counts(train_df: pd.DataFrame) -> dict[str, int]:
    """Training molecules containing each element (the frequencies of H2)."""
    return {symbol: int((train_df[f"n_{symbol}"] > 0).sum()) for symbol in ELEMENTS}


def _test_errors(preds: Predictions, experiments: Sequence[str]) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Test molecules (sorted by ``gdb_id``) and, per experiment, |error| in meV of shape (seeds, molecules)."""
    test, errors = None, {}
    for experiment in experiments:
        seeds = sorted(seed for name, seed in preds if name == experiment)
        if not seeds:
            raise KeyError(f"no predictions for experiment {experiment!r}")
        rows = []
        for seed in seeds:
            frame = preds[(experiment, seed)].sort_values("gdb_id")
            if test is None:
                test = frame.drop(columns=["U0_true_eV", "U0_pred_eV"]).reset_index(drop=True)
            elif not np.array_equal(frame["gdb_id"].to_numpy(), test["gdb_id"].to_numpy()):
                raise ValueError(f"predictions of ({experiment!r}, {seed}) are not on the shared test molecules")
            rows.append(np.abs(frame["U0_pred_eV"] - frame["U0_true_eV"]).to_numpy(dtype=float) * EV_TO_MEV)
        errors[experiment] = np.vstack(rows)
    return test, errors


def _group_mae(weights: np.ndarray, abs_errors: np.ndarray, membership: np.ndarray) -> np.ndarray:
    """MAE per (resample, seed, group) for molecule weights (R, n), errors (S, n), membership (n, G).

    NaN where a resample holds no molecule of the group.
    """
    seeds, (n, groups) = len(abs_errors), membership.shape
    stacked = (abs_errors.T[:, :, None] * membership[:, None, :]).reshape(n, seeds * groups)
    sums = (weights @ stacked).reshape(len(weights), seeds, groups)
    counts = (weights @ membership)[:, None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)


def _paired_bootstrap(n: int, statistic, n_resamples: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Point values of ``statistic`` (weights (R, n) -> (R, k)) and their 95 % intervals, each of shape (k,).

    Resamples where a statistic is undefined (NaN) are left out of its interval.
    """
    point = statistic(np.ones((1, n)))[0]
    boot = np.concatenate([statistic(w) for w in resample_counts(n, n_resamples, np.random.default_rng(seed))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN intervals
        low, high = np.nanpercentile(boot, CI_PERCENTILES, axis=0)
    return point, low, high


def _pearson_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation of a fixed vector (G,) with each row of (R, G); NaN where a side is constant."""
    xc, yc = x - x.mean(), y - y.mean(axis=1, keepdims=True)
    denominator = np.sqrt((xc**2).sum()) * np.sqrt((yc**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, yc @ xc / denominator, np.nan)


def _spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman correlation (average ranks for ties) of x (G,) with each row of y (R, G).

    Groups that are NaN in a row (empty in that resample) are left out of that
    row's correlation; fewer than 3 groups left give NaN.
    """
    complete = np.isfinite(y).all(axis=1)
    rho = np.full(len(y), np.nan)
    rho[complete] = _pearson_rows(rankdata(x), rankdata(y[complete], axis=1))
    for row in np.flatnonzero(~complete):
        valid = np.isfinite(y[row])
        if valid.sum() >= 3:
            rho[row] = _pearson_rows(rankdata(x[valid]), rankdata(y[row, valid])[None])[0]
    return rho


def _seed_note(errors: dict[str, np.ndarray]) -> str:
    counts = {name: len(e) for name, e in errors.items()}
    if set(counts.values()) == {1}:
        return "from a single seed, so seed-to-seed variation is not assessed"
    if len(set(counts.values())) == 1:
        return f"averaged over {next(iter(counts.values()))} seeds"
    note = "averaged over seeds (" + ", ".join(f"{name}: {c}" for name, c in counts.items()) + ")"
    return note + (", so seed-to-seed variation is only partly assessed" if min(counts.values()) == 1 else "")


def _result(hypothesis: str, comparison: str, statement: str, errors: dict, **fields) -> dict:
    """The common fields of a verdict; ``fields`` gives statistic, value, ci_low, ci_high, verdict, explanation."""
    result = {"hypothesis": hypothesis, "comparison": comparison, "statement": statement, **fields}
    for key in ("value", "ci_low", "ci_high"):
        result[key] = float(result[key])
    result["n_seeds"] = min(len(e) for e in errors.values())
    return {column: result[column] for column in TABLE_COLUMNS if column in result}


def _size_masks(test: pd.DataFrame) -> dict[int, np.ndarray]:
    sizes = test["n_atoms"].to_numpy()
    return {int(size): sizes == size for size in np.unique(sizes)}


def _element_masks(test: pd.DataFrame) -> dict[str, np.ndarray]:
    return {symbol: test[f"n_{symbol}"].to_numpy() > 0 for symbol in ELEMENTS}


def _correlation(
    hypothesis: str,
    statement: str,
    kind: str,
    group_masks,
    preds: Predictions,
    experiment: str,
    frequency: Mapping,
    min_count: int,
    inside_zero: str,
    n_resamples: int,
    seed: int,
) -> dict:
    """H1 and H2: Spearman rho of training frequency vs test MAE over the groups of ``group_masks(test)``.

    ``inside_zero`` is the verdict when the interval contains 0.
    """
    test, errors = _test_errors(preds, [experiment])
    groups = {name: mask for name, mask in group_masks(test).items() if mask.sum() >= min_count}
    common = dict(hypothesis=hypothesis, comparison=experiment, statement=statement, errors=errors)
    statistic_name = f"spearman_rho(train_frequency, test_mae) over {kind}s"
    if len(groups) < 3:
        explanation = f"Only {len(groups)} {kind}s have >= {min_count} test molecules, too few for a rank correlation."
        return _result(
            **common,
            statistic=statistic_name,
            value=np.nan,
            ci_low=np.nan,
            ci_high=np.nan,
            verdict=INCONCLUSIVE,
            explanation=explanation,
        )
    membership = np.column_stack(list(groups.values())).astype(float)
    frequencies = np.array([frequency.get(name, 0) for name in groups], dtype=float)

    def statistic(weights):
        mae = _group_mae(weights, errors[experiment], membership)
        rows, seeds, count = mae.shape
        rho = _spearman_rows(frequencies, mae.reshape(rows * seeds, count)).reshape(rows, seeds)
        return rho.mean(axis=1, keepdims=True)

    (rho,), (low,), (high,) = _paired_bootstrap(len(test), statistic, n_resamples, seed)
    if not np.isfinite([rho, low, high]).all():
        verdict = INCONCLUSIVE
    else:
        verdict = SUPPORTED if high < 0 else NOT_SUPPORTED if low > 0 else inside_zero
    meaning = {
        SUPPORTED: f"rarer {kind}s have larger errors",
        NOT_SUPPORTED: f"no inverse relation between a {kind}'s training frequency and its error",
        INCONCLUSIVE: f"too uncertain to say whether rarer {kind}s have larger errors",
    }[verdict]
    explanation = (
        f"Spearman rho between training frequency and test MAE over {len(groups)} {kind}s with >= {min_count} "
        f"test molecules is {rho:+.2f} (95 % CI {low:+.2f} to {high:+.2f}), {_seed_note(errors)}: {meaning}."
    )
    return _result(
        **common,
        statistic=statistic_name,
        value=rho,
        ci_low=low,
        ci_high=high,
        verdict=verdict,
        explanation=explanation,
    )


def h1_rare_sizes(
    preds: Predictions,
    train_size_counts: Mapping[int, int],
    experiment: str = "baseline",
    min_count: int = 10,
    n_resamples: int = 1000,
    seed: int = 0,
) -> dict:
    """H1: sizes rare in the training data have larger test errors.

    Statistic: Spearman rho between a size bin's training count
    (``train_size_counts``, 0 if absent) and its test MAE, over the bins with
    at least ``min_count`` test molecules. Supported when the upper bound of
    its interval is below 0, otherwise not supported (with some 20 bins, an
    interval reaching 0 means no detectable inverse relation).
    """
    return _correlation(
        "H1",
        "Molecule sizes that are rare in the training data have larger test errors.",
        "size bin",
        _size_masks,
        preds,
        experiment,
        train_size_counts,
        min_count,
        NOT_SUPPORTED,
        n_resamples,
        seed,
    )


def h2_rare_elements(
    preds: Predictions,
    train_element_counts: Mapping[str, int],
    experiment: str = "baseline",
    min_count: int = 10,
    n_resamples: int = 1000,
    seed: int = 0,
) -> dict:
    """H2: elements rare in the training data have larger test errors.

    As H1 over the element groups (every molecule containing the element;
    groups overlap), with ``train_element_counts`` the training molecules
    containing each element. With at most 5 groups an interval containing 0
    says little, so that case is "inconclusive".
    """
    return _correlation(
        "H2",
        "Elements that are rare in the training data have larger test errors.",
        "element group",
        _element_masks,
        preds,
        experiment,
        train_element_counts,
        min_count,
        INCONCLUSIVE,
        n_resamples,
        seed,
    )


def _difference_verdict(low: float, high: float, supported_at_zero: bool = False) -> str:
    """Supported when the interval lies below 0, not supported when above 0, else inconclusive."""
    if not np.isfinite([low, high]).all():
        return INCONCLUSIVE
    if high < 0 or (supported_at_zero and high == 0):
        return SUPPORTED
    return NOT_SUPPORTED if low > 0 else INCONCLUSIVE


def _balancing(
    preds: Predictions, experiment: str, baseline: str, frequent_sizes: set[int], n_resamples: int, seed: int
) -> dict:
    """H3 for one balanced experiment; see :func:`h3_balancing`."""
    test, errors = _test_errors(preds, [baseline, experiment])
    sizes = test["n_atoms"].to_numpy()
    bins = sorted(int(s) for s in set(np.unique(sizes)) & set(frequent_sizes))
    # Columns: one per frequent bin, then every molecule (for the overall MAE).
    membership = np.column_stack([sizes == s for s in bins] + [np.ones(len(test), bool)]).astype(float)

    def statistic(weights):
        cv, overall = {}, {}
        for name in (baseline, experiment):
            mae = _group_mae(weights, errors[name], membership)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a resample may miss a whole bin
                cv[name] = (np.nanstd(mae[..., :-1], axis=-1) / np.nanmean(mae[..., :-1], axis=-1)).mean(axis=1)
            overall[name] = mae[..., -1].mean(axis=1)
        return np.column_stack(
            [
                cv[experiment] - cv[baseline],
                overall[experiment] - overall[baseline],
                cv[baseline],
                cv[experiment],
                overall[baseline],
                overall[experiment],
            ]
        )

    point, low, high = _paired_bootstrap(len(test), statistic, n_resamples, seed)
    if len(bins) < 2:
        verdict = INCONCLUSIVE
        explanation = f"Only {len(bins)} frequent size bins are in the test set, too few to measure dispersion."
    else:
        verdict = _difference_verdict(low[0], high[0])
        explanation = (
            f"The coefficient of variation of the MAE over {len(bins)} frequent size bins went from "
            f"{point[2]:.3f} ({baseline}) to {point[3]:.3f} ({experiment}), a change of {point[0]:+.3f} "
            f"(95 % CI {low[0]:+.3f} to {high[0]:+.3f}), while the overall MAE changed by {point[1]:+.1f} meV "
            f"({point[4]:.1f} to {point[5]:.1f} meV), {_seed_note(errors)}."
        )
    return _result(
        "H3",
        f"{experiment} vs {baseline}",
        "Capping the molecules per size (class balancing) equalizes the test error across the frequent sizes.",
        errors,
        statistic="delta_cv_mae_frequent_sizes",
        value=point[0],
        ci_low=low[0],
        ci_high=high[0],
        verdict=verdict,
        explanation=explanation,
        secondary_statistic="delta_overall_mae_meV",
        secondary_value=float(point[1]),
        secondary_ci_low=float(low[1]),
        secondary_ci_high=float(high[1]),
    )


def h3_balancing(
    preds: Predictions,
    balanced: str | Sequence[str],
    frequent_sizes: set[int],
    baseline: str = "baseline",
    n_resamples: int = 1000,
    seed: int = 0,
) -> list[dict]:
    """H3: capping molecules per size equalizes the errors across the frequent sizes; one dict per balanced experiment.

    Statistic: coefficient of variation (population std / mean) of the per-bin
    MAE over the frequent size bins, balanced minus baseline. Supported when
    the interval lies below 0 (dispersion decreased), not supported when above
    0, inconclusive otherwise. Secondary: the change in overall MAE (meV).
    """
    balanced = [balanced] if isinstance(balanced, str) else list(balanced)
    return [_balancing(preds, name, baseline, frequent_sizes, n_resamples, seed) for name in balanced]


def h4_targeted(
    preds: Predictions,
    targeted: str = "targeted",
    baseline: str = "baseline",
    threshold: int = 17,
    n_resamples: int = 1000,
    seed: int = 0,
) -> dict:
    """H4: molecules with at most ``threshold`` atoms are redundant for the larger ones.

    Statistic: MAE (meV) of the targeted model (trained on more than
    ``threshold`` atoms only) minus that of the baseline, on the test molecules
    with more than ``threshold`` atoms. Supported when the upper bound of its
    interval is <= 0 (targeted not worse), not supported when the lower bound
    is > 0, inconclusive otherwise. Secondary: the same difference on the
    molecules with at most ``threshold`` atoms.
    """
    test, errors = _test_errors(preds, [baseline, targeted])
    large = test["n_atoms"].to_numpy() > threshold
    membership = np.column_stack([large, ~large]).astype(float)

    def statistic(weights):
        # Columns: change large, change small, baseline large, baseline small, targeted large, targeted small.
        base, new = (_group_mae(weights, errors[name], membership).mean(axis=1) for name in (baseline, targeted))
        return np.column_stack([new - base, base, new])

    point, low, high = _paired_bootstrap(len(test), statistic, n_resamples, seed)
    if not large.any():
        verdict = INCONCLUSIVE
        explanation = f"No test molecule has more than {threshold} atoms."
    else:
        verdict = _difference_verdict(low[0], high[0], supported_at_zero=True)
        explanation = (
            f"On the {int(large.sum())} test molecules with more than {threshold} atoms the MAE went from "
            f"{point[2]:.1f} ({baseline}) to {point[4]:.1f} meV ({targeted}), a change of {point[0]:+.1f} meV "
            f"(95 % CI {low[0]:+.1f} to {high[0]:+.1f}), while on the {int((~large).sum())} smaller ones it changed "
            f"by {point[1]:+.1f} meV (95 % CI {low[1]:+.1f} to {high[1]:+.1f}), {_seed_note(errors)}."
        )
    statement = (
        f"Molecules with at most {threshold} atoms are redundant for the larger ones: training only on molecules "
        f"with more than {threshold} atoms is not worse on them."
    )
    return _result(
        "H4",
        f"{targeted} vs {baseline}",
        statement,
        errors,
        statistic=f"delta_mae_meV_above_{threshold}_atoms",
        value=point[0],
        ci_low=low[0],
        ci_high=high[0],
        verdict=verdict,
        explanation=explanation,
        secondary_statistic=f"delta_mae_meV_at_most_{threshold}_atoms",
        secondary_value=float(point[1]),
        secondary_ci_low=float(low[1]),
        secondary_ci_high=float(high[1]),
    )


def verdicts_table(results: Sequence[dict | Sequence[dict]]) -> pd.DataFrame:
    """One row per verdict, in ``TABLE_COLUMNS`` order; lists (as from H3) are flattened."""
    rows = [row for item in results for row in ([item] if isinstance(item, dict) else item)]
    return pd.DataFrame(rows).reindex(columns=list(TABLE_COLUMNS))
