"""Verdicts on the study's hypotheses H1-H4, computed from the test predictions.

Input: ``{(experiment, seed): predictions frame}`` (columns as in
:mod:`workflow_scripts.evaluation.stratum_metrics`); every frame holds the same held-out test
molecules, so experiments are compared molecule by molecule.

Each statistic is computed per seed and averaged over an experiment's seeds. Its 95 % interval carries both
sources of variation the claim depends on: seed-to-seed variation (from the spread over seeds, with no more
degrees of freedom than the seeds have) and test-set sampling (a paired bootstrap over the test molecules),
combined as in :mod:`workflow_scripts.evaluation.intervals`. One decision rule (:data:`DECISION_RULE`) turns
every interval into "supported", "contradicted" or "inconclusive"; H3's arms are one family, adjusted by Holm.

H1 and H2 are judged on molecules, not on a handful of aggregate points: a least-squares model of each test
molecule's absolute error separates the training frequency of its size (H1) or its elements (H2) from size
and composition. Every statistic is continuous, so seeds that agree give no spurious certainty.

A placebo experiment (the baseline's settings, other seeds) is judged by the H3 and H4 statistics as a
control: it must show no effect, and each of its rows says whether it did (``placebo_passes``).

Errors are the study's target's (``target``, U0 unless told), in its display unit (meV for the energies): the
statistics of H1, H2 and H4 and their texts carry that unit. No bound needs a unit of its own: H1-H3 compare with
0, and H4's non-inferiority margin is a fraction of the baseline's MAE (config evaluation.non_inferiority_margin),
so the same setting means the same for a property in meV as for one in D.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from workflow_scripts.evaluation.intervals import LEVEL, comparison_interval, holm, p_value
from workflow_scripts.evaluation.stratum_metrics import resample_counts
from workflow_scripts.evaluation.study_tables import FAILED
from workflow_scripts.evaluation.units import DEFAULT_TARGET, decimals
from workflow_scripts.properties import ELEMENTS, contains
from workflow_scripts.targets import Target

Predictions = Mapping[tuple[str, int], pd.DataFrame]

SUPPORTED, CONTRADICTED, INCONCLUSIVE = "supported", "contradicted", "inconclusive"
VERDICTS = (SUPPORTED, CONTRADICTED, INCONCLUSIVE)
ALPHA = 1 - LEVEL

DECISION_RULE = (
    "Every hypothesis claims that a statistic lies below a bound (0, or for H4 the non-inferiority margin). "
    "Supported: the whole 95 % interval (seed-to-seed variation and test-set sampling) lies below the bound. "
    "Contradicted: it lies wholly above. Inconclusive: it contains the bound, or an experiment compared has fewer "
    "than {min_seeds} seeds. The H3 arms are one family of tests: each is decided on its Holm-adjusted p-value, "
    "and an arm whose overall MAE got worse than its control's is not called better balanced."
)

TABLE_COLUMNS = (
    "hypothesis",
    "comparison",
    "experiments",
    "control",
    "question",
    "statement",
    "statistic",
    "unit",
    "method",
    "value",
    "ci_low",
    "ci_high",
    "bound",
    "p_value",
    "p_adjusted",
    "n_seeds",
    "seeds",
    "verdict",
    "placebo_passes",
    "guard",
    "guard_passes",
    "explanation",
    "secondary_statistic",
    "secondary_value",
    "secondary_ci_low",
    "secondary_ci_high",
    "beside_statistic",
    "beside_value",
    "beside_ci_low",
    "beside_ci_high",
    "failed_runs",
    "unreliable_runs",
)

INTERVAL_METHOD = (
    "per seed, averaged over seeds; 95 % interval: Student's t on the seed-to-seed variance plus a paired "
    "bootstrap of the test molecules, degrees of freedom at most what the seeds allow"
)


def decide(low: float, high: float, bound: float, enough_seeds: bool, p_adjusted: float | None = None,
           guard_passes: bool = True) -> str:
    """The study's one decision rule (:data:`DECISION_RULE`).

    Without ``p_adjusted`` the interval decides; with it (a family of tests, Holm) the adjusted p does, the
    interval's side giving the direction. A failed guard keeps a claim from being called supported.
    """
    if not enough_seeds or not np.isfinite([low, high, bound]).all():
        return INCONCLUSIVE
    below, above = high < bound, low > bound
    if p_adjusted is not None:
        if not (np.isfinite(p_adjusted) and p_adjusted < ALPHA):
            return INCONCLUSIVE
        below, above = (low + high) / 2 < bound, (low + high) / 2 > bound
    if below:
        return SUPPORTED if guard_passes else INCONCLUSIVE
    return CONTRADICTED if above else INCONCLUSIVE


def size_counts(train_df: pd.DataFrame) -> dict[int, int]:
    """Training molecules per number of atoms (the frequencies of H1)."""
    return {int(size): int(count) for size, count in train_df["n_atoms"].value_counts().items()}


def element_counts(train_df: pd.DataFrame) -> dict[str, int]:
    """Training molecules containing each element (the frequencies of H2)."""
    return {symbol: int(contains(train_df, symbol).sum()) for symbol in ELEMENTS}


def _test_errors(preds: Predictions, experiments: Sequence[str],
                 target: Target) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Test molecules (sorted by ``gdb_id``) and, per experiment, |error| in the target's display unit (meV for
    U0) of shape (seeds, molecules)."""
    test, errors = None, {}
    for experiment in dict.fromkeys(experiments):
        seeds = sorted(seed for name, seed in preds if name == experiment)
        if not seeds:
            raise KeyError(f"no predictions for experiment {experiment!r}")
        rows = []
        for seed in seeds:
            frame = preds[(experiment, seed)].sort_values("gdb_id")
            if test is None:
                test = frame.drop(columns=[target.true_column, target.pred_column]).reset_index(drop=True)
            elif not np.array_equal(frame["gdb_id"].to_numpy(), test["gdb_id"].to_numpy()):
                raise ValueError(f"predictions of ({experiment!r}, {seed}) are not on the shared test molecules")
            error = frame[target.pred_column] - frame[target.true_column]
            rows.append(np.abs(error).to_numpy(dtype=float) * target.factor)
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


def _least_squares(weights: np.ndarray, design: np.ndarray, abs_errors: np.ndarray) -> np.ndarray:
    """Coefficients (R, S, p) of the weighted least-squares fit of each seed's errors (S, n) on ``design``
    (n, p), one fit per resample's molecule weights (R, n).

    The normal equations are summed as matrix products over the weights, so a thousand bootstrap fits cost
    two matrix products instead of a thousand calls of a fitting routine (tests check the coefficients against
    statsmodels' OLS).
    """
    n, p = design.shape
    gram = (weights @ (design[:, :, None] * design[:, None, :]).reshape(n, p * p)).reshape(-1, p, p)
    moments = (weights @ (design[:, None, :] * abs_errors.T[:, :, None]).reshape(n, -1)).reshape(len(weights), -1, p)
    return np.einsum("rij,rsj->rsi", np.linalg.pinv(gram), moments)


Theta = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (weights (R, n), |errors| (S, n)) -> (R, S) or (R, S, k)


def seed_aware_interval(errors: dict[str, np.ndarray], coefficients: dict[str, float], theta: Theta, n_resamples: int,
                        seed: int) -> dict | list[dict]:
    """Seed-aware interval of ``sum_a c_a * mean over a's seeds of theta`` (see :mod:`.intervals`).

    The bootstrap resamples the test molecules once per resample for every experiment (paired), with each
    experiment's seeds fixed; the same ``seed`` gives the same resamples for every statistic. A ``theta`` with
    a trailing axis of k statistics gives a list of k intervals from the same resamples.
    """
    n = next(iter(errors.values())).shape[1]
    per_seed = {a: theta(np.ones((1, n)), errors[a])[0] for a in coefficients}
    boot = []
    for weights in resample_counts(n, n_resamples, np.random.default_rng(seed)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a resample may leave a statistic undefined
            boot.append(sum(c * np.nanmean(theta(weights, errors[a]), axis=1) for a, c in coefficients.items()))
    boot = np.concatenate(boot)
    several = boot.ndim == 2
    results = []
    for k in range(boot.shape[1] if several else 1):
        pick = (lambda v: v[..., k]) if several else (lambda v: v)
        result = comparison_interval({a: pick(v) for a, v in per_seed.items()}, pick(boot), coefficients)
        result["means"] = {a: float(np.mean(pick(per_seed[a]))) for a in coefficients}
        results.append(result)
    return results if several else results[0]


def mae_statistic(mask: np.ndarray) -> Theta:
    """Per seed, the MAE (the errors' unit) over the test molecules in ``mask``: a statistic for
    seed_aware_interval."""
    membership = np.asarray(mask, dtype=float)[:, None]
    return lambda weights, abs_errors: _group_mae(weights, abs_errors, membership)[..., 0]


def _seeds_text(errors: dict[str, np.ndarray]) -> str:
    return ", ".join(f"{name} {len(e)}" for name, e in errors.items())


def _enough(errors: dict[str, np.ndarray], min_seeds: int) -> bool:
    return min(len(e) for e in errors.values()) >= min_seeds


def _ci_text(interval: dict, fmt: str) -> str:
    return f"{interval['value']:{fmt}} (95 % CI {interval['low']:{fmt}} to {interval['high']:{fmt}})"


def _signed(target: Target) -> str:
    """The format of an error (a change, signed) in the target's display unit: '+.1f' in meV."""
    return f"+.{decimals(target.display_unit)}f"


NAN_INTERVAL = {"value": np.nan, "low": np.nan, "high": np.nan, "se": np.nan, "df": np.nan,
                "seed_variance_known": False}


def _row(hypothesis: str, comparison: str, question: str, statement: str, statistic: str, unit: str, method: str,
         interval: dict, bound: float, errors: dict, min_seeds: int, explanation: str, control: bool = False,
         secondary: tuple | None = None, beside: tuple | None = None, guard: tuple | None = None) -> dict:
    """One verdict row. ``secondary`` / ``beside``: (statistic name, interval); ``guard``: (text, passes)."""
    enough = _enough(errors, min_seeds) and interval["seed_variance_known"]
    guard_passes = guard[1] if guard else True
    verdict = decide(interval["low"], interval["high"], bound, enough, guard_passes=guard_passes)
    if not enough:
        explanation += (f" Inconclusive by rule: an experiment has fewer than {min_seeds} seeds, so seed-to-seed "
                        "variation cannot be told from an effect.")
    row = {
        "hypothesis": hypothesis, "comparison": comparison, "experiments": ";".join(errors), "control": control,
        "question": question, "statement": statement, "statistic": statistic, "unit": unit, "method": method,
        "value": interval["value"], "ci_low": interval["low"], "ci_high": interval["high"], "bound": float(bound),
        "p_value": p_value(interval["value"], bound, interval.get("se", np.nan), interval.get("df", np.nan)),
        "p_adjusted": np.nan, "n_seeds": min(len(e) for e in errors.values()), "seeds": _seeds_text(errors),
        "verdict": verdict, "explanation": explanation, "unreliable_runs": "",
        "_decidable": enough,  # not a column: lets a family's adjustment re-decide the row
    }
    if guard:
        row.update(guard=guard[0], guard_passes=bool(guard[1]))
    if control:
        # a placebo differs from the baseline by its seeds only: its interval must hold 0 (no effect), and its
        # verdict must not claim a difference from the baseline
        claims_difference = verdict == CONTRADICTED or (verdict == SUPPORTED and bound == 0)
        row["placebo_passes"] = bool(interval["low"] <= 0 <= interval["high"] and not claims_difference)
    for prefix, item in (("secondary", secondary), ("beside", beside)):
        if item is not None:
            name, second = item
            row.update({f"{prefix}_statistic": name, f"{prefix}_value": second["value"],
                        f"{prefix}_ci_low": second["low"], f"{prefix}_ci_high": second["high"]})
    return row


def _on_frequent_sizes(preds: Predictions, experiment: str, frequent_sizes, target: Target,
                       keep=lambda test: True) -> tuple[dict, pd.DataFrame, dict]:
    """What H1 and H2 model: the experiment's |errors| (all test molecules, for the seeds' text), the test
    molecules of the frequent sizes (and ``keep``), and their |errors| alone."""
    test, errors = _test_errors(preds, [experiment], target)
    domain = np.isin(test["n_atoms"].to_numpy(), sorted(int(s) for s in frequent_sizes)) & keep(test)
    return errors, test[domain].reset_index(drop=True), {experiment: errors[experiment][:, domain]}


def _varying_elements(test: pd.DataFrame, min_count: int) -> list[str]:
    """Elements present in at least ``min_count`` and absent from at least ``min_count`` of ``test``."""
    return [e for e in ELEMENTS if min_count <= contains(test, e).sum() <= len(test) - min_count]


def h1_rare_sizes(preds: Predictions, train_size_counts: Mapping[int, int], frequent_sizes: set[int],
                  experiment: str = "baseline", min_seeds: int = 2, n_resamples: int = 1000, seed: int = 0,
                  min_count: int = 10, target: Target = DEFAULT_TARGET) -> dict:
    """H1: among the frequent size bins (the study's strata), molecules of sizes rarer in training have larger
    test errors, at equal size and composition.

    Per seed, a least-squares model of each test molecule's |error| (the target's display unit, meV for U0),
    over the molecules of the frequent sizes: intercept + b * log2(training molecules of its size) + a * its
    number of atoms + one term per element whose presence varies (at least ``min_count`` molecules with and
    without it). The size term takes the smooth trend with size, so b is the effect of rarity itself: a size as
    rare as a neighbour's is judged against it. The claim is b < 0 (meV, for U0, per doubling of the size's
    training frequency). Secondary: a, the change per atom at equal frequency.
    """
    question = "Are molecules of sizes that are rare in the training data predicted worse?"
    statement = ("Among the frequent molecule sizes, molecules of sizes rarer in the training data have larger "
                 "test errors, at equal size and composition.")
    statistic, unit, fmt = "mae_change_per_doubling_of_size_frequency", target.display_unit, _signed(target)
    def trained(test):  # sizes the training set holds: log2 of their frequency is defined
        return test["n_atoms"].map(lambda s: train_size_counts.get(int(s), 0)).to_numpy() > 0

    errors, inside, errors_inside = _on_frequent_sizes(preds, experiment, frequent_sizes, target, trained)
    sizes = inside["n_atoms"].to_numpy(dtype=float)
    elements = _varying_elements(inside, min_count)
    method = (f"least squares of each test molecule's |error| on log2(training molecules of its size), its number "
              f"of atoms{''.join(f', presence of {e}' for e in elements)}; {INTERVAL_METHOD}")
    if len(np.unique(sizes)) < 3:
        return _row("H1", experiment, question, statement, statistic, unit, method, NAN_INTERVAL, 0.0, errors,
                    min_seeds, f"Only {len(np.unique(sizes))} frequent size bins in the test set, too few to "
                    "separate rarity from size.")
    frequency = np.log2(inside["n_atoms"].map(lambda s: train_size_counts[int(s)]).to_numpy(dtype=float))
    design = np.column_stack([np.ones(len(inside)), frequency, sizes,
                              *[contains(inside, e).astype(float) for e in elements]])

    def theta(weights, abs_errors):
        return _least_squares(weights, design, abs_errors)[..., 1:3]

    primary, per_atom = seed_aware_interval(errors_inside, {experiment: 1.0}, theta, n_resamples, seed)
    explanation = (
        f"Over the {len(inside)} test molecules of {len(np.unique(sizes))} frequent size bins, the absolute error "
        f"changes by {_ci_text(primary, fmt)} {unit} each time the molecule's size is twice as frequent in "
        f"training, at equal size and composition (negative: rarer sizes are predicted worse). At equal "
        f"frequency, each extra atom changes it by {_ci_text(per_atom, fmt)} {unit}. Seeds: {_seeds_text(errors)}."
    )
    return _row("H1", experiment, question, statement, statistic, unit, method, primary, 0.0, errors_inside,
                min_seeds, explanation,
                secondary=(target.metric("mae_change_per_atom_at_equal_frequency"), per_atom))


def h2_rare_elements(preds: Predictions, train_element_counts: Mapping[str, int], frequent_sizes: set[int],
                     experiment: str = "baseline", min_count: int = 10, min_seeds: int = 2, n_resamples: int = 1000,
                     seed: int = 0, target: Target = DEFAULT_TARGET) -> dict:
    """H2: elements rare in the training data have larger test errors, at equal size and other elements.

    Per seed, a least-squares model of each test molecule's |error| (display unit) over the molecules of the frequent
    sizes: one level per size (a size-matched comparison) plus one term b_e per element whose presence varies
    (at least ``min_count`` test molecules with and without it): b_e is the extra error of molecules holding e,
    at equal size and other elements. The statistic is the least-squares slope of b_e against log2(training
    molecules holding e) over those elements; the claim is slope < 0 (the rarer the element, the larger its
    extra error). Secondary: b of the rarest of them.
    """
    question = "Are molecules holding elements that are rare in the training data predicted worse?"
    statement = ("Elements that are rare in the training data come with larger test errors, at equal size and "
                 "other elements.")
    statistic, unit, fmt = "extra_error_change_per_doubling_of_element_frequency", target.display_unit, _signed(target)
    errors, inside, errors_inside = _on_frequent_sizes(preds, experiment, frequent_sizes, target)
    elements = [e for e in _varying_elements(inside, min_count) if train_element_counts.get(e, 0) > 0]
    method = (f"least squares of each test molecule's |error| on its size (one level per size) and the presence "
              f"of {', '.join(elements) or 'no element'}; slope of the element terms against log2(training "
              f"molecules holding the element); {INTERVAL_METHOD}")
    if len(elements) < 2:
        return _row("H2", experiment, question, statement, statistic, unit, method, NAN_INTERVAL, 0.0, errors,
                    min_seeds, f"Only {len(elements)} element(s) with at least {min_count} test molecules with "
                    "and without it: no slope across elements.")
    sizes = inside["n_atoms"].to_numpy()
    levels = np.unique(sizes)
    design = np.column_stack([*(sizes == s for s in levels), *(contains(inside, e) for e in elements)]).astype(float)
    frequency = np.log2([train_element_counts[e] for e in elements])
    slope = (frequency - frequency.mean()) / ((frequency - frequency.mean()) ** 2).sum()
    rarest = elements[int(np.argmin(frequency))]

    def theta(weights, abs_errors):
        extra = _least_squares(weights, design, abs_errors)[..., len(levels):]
        return np.concatenate([(extra @ slope)[..., None], extra], axis=-1)

    primary, *per_element = seed_aware_interval(errors_inside, {experiment: 1.0}, theta, n_resamples, seed)
    effects = "; ".join(f"{e} ({train_element_counts[e]} training molecules) {_ci_text(i, fmt)} {unit}"
                        for e, i in zip(elements, per_element))
    explanation = (
        f"Over the {len(inside)} test molecules of the frequent sizes, at equal size and other elements, molecules "
        f"holding an element have these extra errors: {effects}. Their slope against the element's training "
        f"frequency: {_ci_text(primary, fmt)} {unit} per doubling (negative: rarer elements, larger errors). "
        f"Seeds: {_seeds_text(errors)}."
    )
    return _row("H2", experiment, question, statement, statistic, unit, method, primary, 0.0, errors_inside,
                min_seeds, explanation,
                secondary=(target.metric(f"extra_error_with_{rarest}"), per_element[elements.index(rarest)]))


def _cv_statistic(membership: np.ndarray) -> Theta:
    def cv(weights, abs_errors):
        mae = _group_mae(weights, abs_errors, membership)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a resample may miss a whole bin
            return np.nanstd(mae, axis=-1) / np.nanmean(mae, axis=-1)
    return cv


def _balancing(preds: Predictions, experiment: str, control: str, baseline: str, frequent_sizes: set[int],
               min_seeds: int, n_resamples: int, seed: int, is_placebo: bool, target: Target) -> dict:
    """H3 for one balancing arm against its matched control (or the placebo against the baseline)."""
    test, errors = _test_errors(preds, [control, experiment, baseline], target)
    unit, fmt = target.display_unit, _signed(target)
    sizes = test["n_atoms"].to_numpy()
    bins = sorted(int(s) for s in set(np.unique(sizes)) & set(frequent_sizes))
    question = "Does balancing the training data by size even out the error across sizes?"
    statement = ("Balancing the training molecules by size equalizes the test error across the frequent sizes, "
                 "compared with training on as many molecules drawn without balancing.")
    statistic = "delta_cv_mae_frequent_sizes"
    method = (f"change in the coefficient of variation (std / mean) of the per-size MAE over the frequent size bins, "
              f"arm minus its matched control ({'the baseline: same data size' if control == baseline else 'a random subset of the same number of training molecules'}); "
              f"{INTERVAL_METHOD}")
    compared = {control: errors[control], experiment: errors[experiment]}
    if len(bins) < 2:
        return _row("H3", f"{experiment} vs {control}", question, statement, statistic, "", method, NAN_INTERVAL,
                    0.0, compared, min_seeds, f"Only {len(bins)} frequent size bins in the test set.",
                    control=is_placebo)
    membership = np.column_stack([sizes == s for s in bins]).astype(float)
    everything = mae_statistic(np.ones(len(test), bool))
    versus = {experiment: 1.0, control: -1.0}
    primary = seed_aware_interval(compared, versus, _cv_statistic(membership), n_resamples, seed)
    overall = seed_aware_interval(compared, versus, everything, n_resamples, seed)
    guard_passes = not overall["low"] > 0
    guard = (f"the arm's overall MAE is not worse than its control's (interval of the change "
             f"{overall['low']:{fmt}} to {overall['high']:{fmt}} {unit})", guard_passes)
    explanation = (
        f"Coefficient of variation of the MAE over {len(bins)} frequent size bins: {primary['means'][control]:.3f} "
        f"({control}) to {primary['means'][experiment]:.3f} ({experiment}), a change of {_ci_text(primary, '+.3f')}; "
        f"overall MAE change {_ci_text(overall, fmt)} {unit}"
        + ("" if guard_passes else " (worse overall: not called better balanced)")
    )
    beside = None
    if control != baseline:
        against_full = {experiment: errors[experiment], baseline: errors[baseline]}
        full_versus = {experiment: 1.0, baseline: -1.0}
        beside_cv = seed_aware_interval(against_full, full_versus, _cv_statistic(membership), n_resamples, seed)
        beside_mae = seed_aware_interval(against_full, full_versus, everything, n_resamples, seed)
        explanation += (f". Against the full baseline ({baseline}): CV change {_ci_text(beside_cv, '+.3f')}, overall "
                        f"MAE change {_ci_text(beside_mae, fmt)} {unit}")
        beside = ("delta_cv_mae_frequent_sizes_vs_full_baseline", beside_cv)
    explanation += f"; seeds: {_seeds_text(errors)}."
    return _row("H3", f"{experiment} vs {control}", question, statement, statistic, "", method, primary, 0.0,
                compared, min_seeds, explanation, control=is_placebo,
                secondary=(target.metric("delta_overall_mae"), overall), beside=beside, guard=guard)


def h3_balancing(preds: Predictions, balanced: str | Sequence[str], frequent_sizes: set[int],
                 baseline: str = "baseline", controls: Mapping[str, str] | None = None, min_seeds: int = 2,
                 n_resamples: int = 1000, seed: int = 0, placebo: str | None = None,
                 target: Target = DEFAULT_TARGET) -> list[dict]:
    """H3: balancing by size equalizes the errors across the frequent sizes; one dict per balanced experiment.

    Statistic: coefficient of variation (population std / mean) of the per-bin MAE over the frequent size
    bins, per seed, averaged, balanced arm minus its matched control: ``controls[arm]``, a random subset of as
    many training molecules (a capped subset holds less data than the baseline, and less data alone changes
    the errors), or the baseline where none is given (an arm on the full data, such as the size sampler). The
    claim is that it is below 0, guarded: an arm whose overall MAE is worse than its control's is not called
    better balanced. The arms form one family: each verdict is decided on its Holm-adjusted p-value. Beside
    it, the same against the full baseline. ``placebo`` (the baseline's settings, other seeds) is judged
    against the baseline as a control, outside the family.
    """
    balanced = [balanced] if isinstance(balanced, str) else list(balanced)
    controls = dict(controls or {})
    rows = [_balancing(preds, name, controls.get(name, baseline), baseline, frequent_sizes, min_seeds, n_resamples,
                       seed, False, target) for name in balanced]
    adjusted = holm([row["p_value"] for row in rows])
    for row, p in zip(rows, adjusted):
        row["p_adjusted"] = float(p)
        row["verdict"] = decide(row["ci_low"], row["ci_high"], row["bound"], row["_decidable"], p_adjusted=float(p),
                                guard_passes=row.get("guard_passes", True))
        if len(rows) > 1:
            row["explanation"] += f" Holm-adjusted p over the {len(rows)} arms: {p:.3g}."
    if placebo:
        rows.append(_balancing(preds, placebo, baseline, baseline, frequent_sizes, min_seeds, n_resamples, seed,
                               True, target))
    return rows


def _targeted(preds: Predictions, targeted: str, baseline: str, threshold: int, margin: float, min_seeds: int,
              n_resamples: int, seed: int, control: bool, target: Target) -> dict:
    test, errors = _test_errors(preds, [baseline, targeted], target)
    unit, fmt, plain = target.display_unit, _signed(target), f".{decimals(target.display_unit)}f"
    large = test["n_atoms"].to_numpy() > threshold
    coefficients = {targeted: 1.0, baseline: -1.0}
    question = f"Can training skip the molecules with at most {threshold} atoms without losing accuracy above that?"
    statement = (
        f"Molecules with at most {threshold} atoms are redundant for the larger ones: training only on molecules "
        f"with more than {threshold} atoms is not worse on them (by more than {100 * margin:g} % of the baseline's MAE)."
    )
    statistic = f"delta_mae_above_{threshold}_atoms"
    method = (f"MAE on the test molecules with more than {threshold} atoms, arm minus baseline, against a "
              f"non-inferiority margin of {100 * margin:g} % of the baseline's MAE there; {INTERVAL_METHOD}")
    if not large.any() or large.all():
        return _row("H4", f"{targeted} vs {baseline}", question, statement, statistic, unit, method, NAN_INTERVAL,
                    np.nan, errors, min_seeds, f"The test set has no molecules on one side of {threshold} atoms.",
                    control=control)

    primary = seed_aware_interval(errors, coefficients, mae_statistic(large), n_resamples, seed)
    second = seed_aware_interval(errors, coefficients, mae_statistic(~large), n_resamples, seed)
    bound = margin * primary["means"][baseline]
    explanation = (
        f"On the {int(large.sum())} test molecules with more than {threshold} atoms the MAE went from "
        f"{primary['means'][baseline]:{plain}} ({baseline}) to {primary['means'][targeted]:{plain}} {unit} "
        f"({targeted}), a change of {_ci_text(primary, fmt)} {unit} against a non-inferiority margin of "
        f"{bound:{fmt}} {unit}; on the {int((~large).sum())} smaller ones it changed by {_ci_text(second, fmt)} "
        f"{unit}; seeds: {_seeds_text(errors)}."
    )
    return _row("H4", f"{targeted} vs {baseline}", question, statement, statistic, unit, method, primary, bound,
                errors, min_seeds, explanation, control=control,
                secondary=(f"{target.metric('delta_mae')}_at_most_{threshold}_atoms", second))


def h4_targeted(preds: Predictions, targeted: str = "targeted", baseline: str = "baseline", threshold: int = 17,
                margin: float = 0.10, min_seeds: int = 2, n_resamples: int = 1000, seed: int = 0,
                placebo: str | None = None, target: Target = DEFAULT_TARGET) -> list[dict]:
    """H4: molecules with at most ``threshold`` atoms are redundant for the larger ones (non-inferiority).

    Statistic: MAE (the target's display unit) of the targeted model (trained on more than ``threshold`` atoms
    only) minus the baseline's, on the test molecules with more than ``threshold`` atoms, per seed, averaged.
    The claim is that it is below the margin, ``margin`` times the baseline's MAE there (a fraction: no unit of
    its own, see the module text). Secondary: the same difference on the molecules with at most ``threshold``
    atoms. ``placebo`` is judged the same way as a control. For a fair
    comparison the targeted experiment chooses its checkpoint on the baseline's validation molecules and uses
    the baseline's energy reference (config.yaml, experiment ``targeted``).
    """
    rows = [_targeted(preds, targeted, baseline, threshold, margin, min_seeds, n_resamples, seed, False, target)]
    if placebo:
        rows.append(_targeted(preds, placebo, baseline, threshold, margin, min_seeds, n_resamples, seed, True,
                              target))
    return rows


def unreliable_runs(experiments: str, runs: pd.DataFrame) -> str:
    """The runs of ``experiments`` (';'-joined) that did not converge or failed, as 'experiment seed N (status)'.

    ``runs``: the compared runs' statuses (study_tables.run_statuses, or the training-runs table).
    """
    names = experiments.split(";") if experiments else []
    bad = runs[runs["experiment"].isin(names) & (runs["status"] != "converged")]
    return "; ".join(f"{r.experiment} seed {r.seed} ({r.status})" for r in bad.itertuples())


def verdicts_table(results: Sequence[dict | Sequence[dict]], runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per verdict, in ``TABLE_COLUMNS`` order; lists (as from H3) are flattened. With the training-runs
    table ``runs``, each row names the runs it compares that failed (``failed_runs``: diverged or collapsed) and
    those that failed or did not converge (``unreliable_runs``).

    Failed runs stay in the statistics: leaving out the runs that failed would keep an arm's luckier seeds and
    bias the comparison (at a scale where many runs fail, the placebo then shows an effect); kept, a failed seed
    widens the interval, and the row names it."""
    rows = [row for item in results for row in ([item] if isinstance(item, dict) else item)]
    table = pd.DataFrame(rows).reindex(columns=list(TABLE_COLUMNS))
    if runs is not None:
        experiments = table["experiments"].fillna("")
        table["unreliable_runs"] = [unreliable_runs(e, runs) for e in experiments]
        failed = runs[runs["status"].isin(FAILED)]
        table["failed_runs"] = [unreliable_runs(e, failed) for e in experiments]
    return table
