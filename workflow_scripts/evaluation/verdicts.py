"""Verdicts on the study's hypotheses H1-H4, computed from the test predictions.

Input: ``{(experiment, seed): predictions frame}`` (columns as in
:mod:`workflow_scripts.evaluation.stratum_metrics`); every frame holds the same held-out test
molecules, so experiments are compared molecule by molecule.

Each statistic is computed per seed and averaged over an experiment's seeds.
Its 95 % interval carries both sources of variation the claim depends on:
seed-to-seed variation (from the spread over seeds) and test-set sampling (a
paired bootstrap over the test molecules), combined as in
:mod:`workflow_scripts.evaluation.intervals`. One decision rule (:data:`DECISION_RULE`)
turns every interval into "supported", "contradicted" or "inconclusive".

A placebo experiment (the baseline's settings, other seeds) can be judged by
the H3 and H4 statistics as a control: it must show no effect, and each of its
rows says whether it did (``placebo_passes``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from workflow_scripts.properties import ELEMENTS, EV_TO_MEV, contains
from workflow_scripts.evaluation.stratum_metrics import resample_counts
from workflow_scripts.evaluation.intervals import comparison_interval

Predictions = Mapping[tuple[str, int], pd.DataFrame]

SUPPORTED, CONTRADICTED, INCONCLUSIVE = "supported", "contradicted", "inconclusive"
VERDICTS = (SUPPORTED, CONTRADICTED, INCONCLUSIVE)

DECISION_RULE = (
    "Every hypothesis claims that a statistic lies below a bound (0, or for H4 the non-inferiority margin). "
    "Supported: the whole seed-aware 95 % interval (seed-to-seed variation and test-set sampling) lies below the "
    "bound. Contradicted: it lies wholly above. Inconclusive: it contains the bound, or an experiment compared "
    "has fewer than {min_seeds} seeds."
)

TABLE_COLUMNS = (
    "hypothesis",
    "comparison",
    "control",
    "statement",
    "statistic",
    "value",
    "ci_low",
    "ci_high",
    "bound",
    "n_seeds",
    "seeds",
    "verdict",
    "placebo_passes",
    "explanation",
    "secondary_statistic",
    "secondary_value",
    "secondary_ci_low",
    "secondary_ci_high",
)


def decide(low: float, high: float, bound: float, enough_seeds: bool) -> str:
    """The study's one decision rule (:data:`DECISION_RULE`)."""
    if not enough_seeds or not np.isfinite([low, high, bound]).all():
        return INCONCLUSIVE
    if high < bound:
        return SUPPORTED
    return CONTRADICTED if low > bound else INCONCLUSIVE


def size_counts(train_df: pd.DataFrame) -> dict[int, int]:
    """Training molecules per number of atoms (the frequencies of H1)."""
    return {int(size): int(count) for size, count in train_df["n_atoms"].value_counts().items()}


def element_counts(train_df: pd.DataFrame) -> dict[str, int]:
    """Training molecules containing each element (the frequencies of H2)."""
    return {symbol: int(contains(train_df, symbol).sum()) for symbol in ELEMENTS}


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


Theta = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (weights (R, n), |errors| (S, n)) -> per seed (R, S)


def seed_aware_interval(errors: dict[str, np.ndarray], coefficients: dict[str, float], theta: Theta, n_resamples: int,
              seed: int) -> dict:
    """Seed-aware interval of ``sum_a c_a * mean over a's seeds of theta`` (see :mod:`.intervals`).

    The bootstrap resamples the test molecules once per resample for every experiment (paired), with each
    experiment's seeds fixed; the same ``seed`` gives the same resamples for every statistic.
    """
    n = next(iter(errors.values())).shape[1]
    per_seed = {a: theta(np.ones((1, n)), errors[a])[0] for a in coefficients}
    boot = []
    for weights in resample_counts(n, n_resamples, np.random.default_rng(seed)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a resample may leave a statistic undefined
            boot.append(sum(c * np.nanmean(theta(weights, errors[a]), axis=1) for a, c in coefficients.items()))
    result = comparison_interval(per_seed, np.concatenate(boot), coefficients)
    result["means"] = {a: float(np.mean(per_seed[a])) for a in coefficients}
    return result


def mae_statistic(mask: np.ndarray) -> Theta:
    """Per seed, the MAE (meV) over the test molecules in ``mask``: a statistic for seed_aware_interval."""
    membership = np.asarray(mask, dtype=float)[:, None]
    return lambda weights, abs_errors: _group_mae(weights, abs_errors, membership)[..., 0]


def _seeds_text(errors: dict[str, np.ndarray]) -> str:
    return ", ".join(f"{name} {len(e)}" for name, e in errors.items())


def _enough(errors: dict[str, np.ndarray], min_seeds: int) -> bool:
    return min(len(e) for e in errors.values()) >= min_seeds


def _ci_text(interval: dict, fmt: str) -> str:
    return f"{interval['value']:{fmt}} (95 % CI {interval['low']:{fmt}} to {interval['high']:{fmt}})"


def _row(hypothesis: str, comparison: str, statement: str, statistic: str, interval: dict, bound: float,
         errors: dict, min_seeds: int, explanation: str, control: bool = False, secondary: tuple | None = None) -> dict:
    enough = _enough(errors, min_seeds) and interval["seed_variance_known"]
    verdict = decide(interval["low"], interval["high"], bound, enough)
    if not enough:
        explanation += (f" Inconclusive by rule: an experiment has fewer than {min_seeds} seeds, so seed-to-seed "
                        "variation cannot be told from an effect.")
    row = {
        "hypothesis": hypothesis, "comparison": comparison, "control": control, "statement": statement,
        "statistic": statistic, "value": interval["value"], "ci_low": interval["low"], "ci_high": interval["high"],
        "bound": float(bound), "n_seeds": min(len(e) for e in errors.values()), "seeds": _seeds_text(errors),
        "verdict": verdict, "explanation": explanation,
    }
    if control:
        # a placebo differs from the baseline by its seeds only: its interval must hold 0 (no effect), and its
        # verdict must not claim a difference from the baseline
        claims_difference = verdict == CONTRADICTED or (verdict == SUPPORTED and bound == 0)
        row["placebo_passes"] = bool(interval["low"] <= 0 <= interval["high"] and not claims_difference)
    if secondary is not None:
        name, second = secondary
        row.update(secondary_statistic=name, secondary_value=second["value"], secondary_ci_low=second["low"],
                   secondary_ci_high=second["high"])
    return row


def _correlation(hypothesis: str, statement: str, kind: str, groups: dict, preds: Predictions, experiment: str,
                 frequency: Mapping, min_count: int, min_seeds: int, n_resamples: int, seed: int,
                 per_atom: Mapping | None) -> dict:
    """H1 and H2: Spearman rho between a group's training frequency and its test MAE, per seed, then averaged.

    ``groups``: name -> function of the test molecules (sorted by gdb_id) giving the group's membership mask;
    groups with fewer than ``min_count`` test molecules are left out. ``per_atom``: name -> the group's number
    of atoms, for the size-controlled secondary statistic (MAE per atom), or None.
    """
    test, errors = _test_errors(preds, [experiment])
    groups = {name: mask(test) for name, mask in groups.items()}
    groups = {name: mask for name, mask in groups.items() if mask.sum() >= min_count}
    statistic = f"spearman_rho(train_frequency, test_mae) over {kind}s"
    if len(groups) < 3:
        nan = {"value": np.nan, "low": np.nan, "high": np.nan, "seed_variance_known": False}
        return _row(hypothesis, experiment, statement, statistic, nan, 0.0, errors, min_seeds,
                    f"Only {len(groups)} {kind}s, too few for a rank correlation.")
    membership = np.column_stack(list(groups.values())).astype(float)
    frequencies = np.array([frequency.get(name, 0) for name in groups], dtype=float)

    def rho_of(scale):
        def theta(weights, abs_errors):
            mae = _group_mae(weights, abs_errors, membership) / scale
            rows, seeds, count = mae.shape
            return _spearman_rows(frequencies, mae.reshape(rows * seeds, count)).reshape(rows, seeds)
        return theta

    one = {experiment: 1.0}
    primary = seed_aware_interval(errors, one, rho_of(1.0), n_resamples, seed)
    for key in ("low", "high"):
        primary[key] = float(np.clip(primary[key], -1, 1))
    explanation = (
        f"Spearman rho between training frequency and test MAE over {len(groups)} {kind}s: "
        f"{_ci_text(primary, '+.2f')}; seeds: {_seeds_text(errors)}."
    )
    secondary = None
    if per_atom is not None:
        atoms = np.array([per_atom[name] for name in groups], dtype=float)
        second = seed_aware_interval(errors, one, rho_of(atoms), n_resamples, seed)
        for key in ("low", "high"):
            second[key] = float(np.clip(second[key], -1, 1))
        secondary = (f"spearman_rho(train_frequency, test_mae_per_atom) over {kind}s", second)
        explanation += (f" Size-controlled view (MAE per atom, since U0 and its error grow with size): "
                        f"{_ci_text(second, '+.2f')}.")
    return _row(hypothesis, experiment, statement, statistic, primary, 0.0, errors, min_seeds, explanation,
                secondary=secondary)


def h1_rare_sizes(preds: Predictions, train_size_counts: Mapping[int, int], frequent_sizes: set[int],
                  experiment: str = "baseline", min_seeds: int = 2, n_resamples: int = 1000, seed: int = 0) -> dict:
    """H1: among the frequent size bins (the study's strata), the rarer in training have larger test errors.

    Statistic: Spearman rho between a bin's training count (``train_size_counts``) and its test MAE, per seed,
    averaged; the claim is rho < 0. Secondary (size-controlled): the same with the MAE per atom.
    """
    sizes = sorted(int(s) for s in frequent_sizes)
    groups = {size: (lambda test, size=size: test["n_atoms"].to_numpy() == size) for size in sizes}
    return _correlation(
        "H1", "Among the frequent molecule sizes, those rarer in the training data have larger test errors.",
        "frequent size bin", groups, preds, experiment, train_size_counts, 1, min_seeds, n_resamples, seed,
        per_atom={size: size for size in sizes},
    )


def h2_rare_elements(preds: Predictions, train_element_counts: Mapping[str, int], experiment: str = "baseline",
                     min_count: int = 10, min_seeds: int = 2, n_resamples: int = 1000, seed: int = 0) -> dict:
    """H2: elements rare in the training data have larger test errors.

    As H1 over the element groups with at least ``min_count`` test molecules (every molecule containing the
    element; groups overlap), with ``train_element_counts`` the training molecules containing each element.
    """
    groups = {e: (lambda t, e=e: contains(t, e)) for e in ELEMENTS}
    return _correlation(
        "H2", "Elements that are rare in the training data have larger test errors.", "element group", groups,
        preds, experiment, train_element_counts, min_count, min_seeds, n_resamples, seed, per_atom=None,
    )


def _balancing(preds: Predictions, experiment: str, baseline: str, frequent_sizes: set[int], min_seeds: int,
               n_resamples: int, seed: int, control: bool) -> dict:
    """H3 for one balanced experiment (or the placebo); see :func:`h3_balancing`."""
    test, errors = _test_errors(preds, [baseline, experiment])
    sizes = test["n_atoms"].to_numpy()
    bins = sorted(int(s) for s in set(np.unique(sizes)) & set(frequent_sizes))
    membership = np.column_stack([sizes == s for s in bins]).astype(float) if bins else np.zeros((len(test), 0))

    def cv(weights, abs_errors):
        mae = _group_mae(weights, abs_errors, membership)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a resample may miss a whole bin
            return np.nanstd(mae, axis=-1) / np.nanmean(mae, axis=-1)

    coefficients = {experiment: 1.0, baseline: -1.0}
    statement = "Capping the molecules per size (class balancing) equalizes the test error across the frequent sizes."
    if len(bins) < 2:
        nan = {"value": np.nan, "low": np.nan, "high": np.nan, "seed_variance_known": False}
        return _row("H3", f"{experiment} vs {baseline}", statement, "delta_cv_mae_frequent_sizes", nan, 0.0,
                    errors, min_seeds, f"Only {len(bins)} frequent size bins in the test set.", control=control)
    primary = seed_aware_interval(errors, coefficients, cv, n_resamples, seed)
    second = seed_aware_interval(errors, coefficients, mae_statistic(np.ones(len(test), bool)), n_resamples, seed)
    explanation = (
        f"Coefficient of variation of the MAE over {len(bins)} frequent size bins: {primary['means'][baseline]:.3f} "
        f"({baseline}) to {primary['means'][experiment]:.3f} ({experiment}), a change of {_ci_text(primary, '+.3f')}; "
        f"overall MAE change {_ci_text(second, '+.1f')} meV; seeds: {_seeds_text(errors)}."
    )
    return _row("H3", f"{experiment} vs {baseline}", statement, "delta_cv_mae_frequent_sizes", primary, 0.0, errors,
                min_seeds, explanation, control=control, secondary=("delta_overall_mae_meV", second))


def h3_balancing(preds: Predictions, balanced: str | Sequence[str], frequent_sizes: set[int],
                 baseline: str = "baseline", min_seeds: int = 2, n_resamples: int = 1000, seed: int = 0,
                 placebo: str | None = None) -> list[dict]:
    """H3: balancing by size equalizes the errors across the frequent sizes; one dict per balanced experiment.

    Statistic: coefficient of variation (population std / mean) of the per-bin MAE over the frequent size
    bins, per seed, averaged, balanced minus baseline; the claim is that it is below 0. Secondary: the change
    in overall MAE (meV). ``placebo`` (the baseline's settings, other seeds) is judged the same way as a control.
    """
    balanced = [balanced] if isinstance(balanced, str) else list(balanced)
    rows = [_balancing(preds, name, baseline, frequent_sizes, min_seeds, n_resamples, seed, False) for name in balanced]
    if placebo:
        rows.append(_balancing(preds, placebo, baseline, frequent_sizes, min_seeds, n_resamples, seed, True))
    return rows


def _targeted(preds: Predictions, targeted: str, baseline: str, threshold: int, margin: float, min_seeds: int,
              n_resamples: int, seed: int, control: bool) -> dict:
    test, errors = _test_errors(preds, [baseline, targeted])
    large = test["n_atoms"].to_numpy() > threshold
    coefficients = {targeted: 1.0, baseline: -1.0}
    statement = (
        f"Molecules with at most {threshold} atoms are redundant for the larger ones: training only on molecules "
        f"with more than {threshold} atoms is not worse on them (by more than {100 * margin:g} % of the baseline's MAE)."
    )
    statistic = f"delta_mae_meV_above_{threshold}_atoms"
    if not large.any() or large.all():
        nan = {"value": np.nan, "low": np.nan, "high": np.nan, "seed_variance_known": False}
        return _row("H4", f"{targeted} vs {baseline}", statement, statistic, nan, np.nan, errors, min_seeds,
                    f"The test set has no molecules on one side of {threshold} atoms.", control=control)

    primary = seed_aware_interval(errors, coefficients, mae_statistic(large), n_resamples, seed)
    second = seed_aware_interval(errors, coefficients, mae_statistic(~large), n_resamples, seed)
    bound = margin * primary["means"][baseline]
    explanation = (
        f"On the {int(large.sum())} test molecules with more than {threshold} atoms the MAE went from "
        f"{primary['means'][baseline]:.1f} ({baseline}) to {primary['means'][targeted]:.1f} meV ({targeted}), a "
        f"change of {_ci_text(primary, '+.1f')} meV against a non-inferiority margin of +{bound:.1f} meV; on the "
        f"{int((~large).sum())} smaller ones it changed by {_ci_text(second, '+.1f')} meV; seeds: {_seeds_text(errors)}."
    )
    return _row("H4", f"{targeted} vs {baseline}", statement, statistic, primary, bound, errors, min_seeds,
                explanation, control=control, secondary=(f"delta_mae_meV_at_most_{threshold}_atoms", second))


def h4_targeted(preds: Predictions, targeted: str = "targeted", baseline: str = "baseline", threshold: int = 17,
                margin: float = 0.10, min_seeds: int = 2, n_resamples: int = 1000, seed: int = 0,
                placebo: str | None = None) -> list[dict]:
    """H4: molecules with at most ``threshold`` atoms are redundant for the larger ones (non-inferiority).

    Statistic: MAE (meV) of the targeted model (trained on more than ``threshold`` atoms only) minus the
    baseline's, on the test molecules with more than ``threshold`` atoms, per seed, averaged. The claim is that
    it is below the margin, ``margin`` times the baseline's MAE there. Secondary: the same difference on the
    molecules with at most ``threshold`` atoms. ``placebo`` is judged the same way as a control.
    """
    rows = [_targeted(preds, targeted, baseline, threshold, margin, min_seeds, n_resamples, seed, False)]
    if placebo:
        rows.append(_targeted(preds, placebo, baseline, threshold, margin, min_seeds, n_resamples, seed, True))
    return rows


def verdicts_table(results: Sequence[dict | Sequence[dict]]) -> pd.DataFrame:
    """One row per verdict, in ``TABLE_COLUMNS`` order; lists (as from H3) are flattened."""
    rows = [row for item in results for row in ([item] if isinstance(item, dict) else item)]
    return pd.DataFrame(rows).reindex(columns=list(TABLE_COLUMNS))
