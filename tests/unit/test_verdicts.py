"""Hypothesis verdicts on synthetic predictions built to give each outcome.

Synthetic seeds differ only by their per-molecule noise unless a test adds a seed effect, so with 3 seeds per
experiment a real effect is found and no effect is not; tests/unit/test_intervals.py checks the interval itself.
"""

import numpy as np
import pandas as pd
import pytest

from workflow_scripts import targets
from workflow_scripts.evaluation.verdicts import (
    DECISION_RULE,
    TABLE_COLUMNS,
    VERDICTS,
    decide,
    element_counts,
    h1_rare_sizes,
    h2_rare_elements,
    h3_balancing,
    h4_targeted,
    size_counts,
    verdicts_table,
)

SIZES = np.arange(8, 23)
TRAIN_SIZE_COUNTS = {int(s): int(2000 * np.exp(-(((s - 18) / 4) ** 2))) + 5 for s in SIZES}
TRAIN_ELEMENT_COUNTS = {"H": 1000, "C": 1000, "O": 800, "N": 500, "F": 30}
FREQUENT = set(range(12, 21))
N_RESAMPLES = 200


def make_test_set(per_size=60, seed=0):
    """CH molecules of 8 to 22 atoms; each has at most one of O (15 %), N (10 %), F (5 %)."""
    rng = np.random.default_rng(seed)
    sizes = np.repeat(SIZES, per_size)
    kind = rng.choice(["", "O", "N", "F"], size=len(sizes), p=[0.7, 0.15, 0.1, 0.05])
    frame = pd.DataFrame({"gdb_id": rng.permutation(len(sizes)) + 1, "n_atoms": sizes})
    frame["n_C"] = 1 + sizes // 3
    for symbol in ("N", "O", "F"):
        frame[f"n_{symbol}"] = (kind == symbol).astype(int)
    frame["n_H"] = sizes - frame[["n_C", "n_N", "n_O", "n_F"]].sum(axis=1)
    frame["U0_true_eV"] = -30.0 * sizes
    return frame[["gdb_id", "n_atoms", "n_H", "n_C", "n_N", "n_O", "n_F", "U0_true_eV"]]


def make_preds(test, experiments, seed=1):
    """{(experiment, seed): predictions} with normal errors of scale ``scale(test)`` (eV)."""
    rng = np.random.default_rng(seed)
    preds = {}
    for name, (scale, n_seeds) in experiments.items():
        for s in range(n_seeds):
            frame = test.copy()
            frame["U0_pred_eV"] = frame["U0_true_eV"] + rng.normal(0, 1, len(test)) * scale(test)
            preds[(name, s)] = frame.sample(frac=1, random_state=s)  # row order must not matter
    return preds


def constant(value):
    return lambda test: np.full(len(test), value)


def rare_sizes_worse(test):
    frequency = test["n_atoms"].map(TRAIN_SIZE_COUNTS).to_numpy()
    return 0.01 * (1 + 3 * (1 - frequency / frequency.max()))


def size_dependent(test):
    return 0.01 * (1 + np.abs(test["n_atoms"].to_numpy() - 16) / 2)


def rare_elements_worse(test):
    # CH-only molecules are accurate enough that the H and C groups (all molecules) beat O.
    scale = np.full(len(test), 0.002)
    for symbol, value in (("O", 0.01), ("N", 0.02), ("F", 0.04)):
        scale[test[f"n_{symbol}"].to_numpy() > 0] = value
    return scale


def large_scaled(large_factor, small_factor):
    return lambda test: 0.02 * np.where(test["n_atoms"].to_numpy() > 17, large_factor, small_factor)


def test_frequency_helpers():
    test = make_test_set(per_size=2)
    assert size_counts(test) == {int(s): 2 for s in SIZES}
    counts = element_counts(test)
    assert counts["H"] == counts["C"] == len(test)
    assert counts["O"] == int((test["n_O"] > 0).sum())


def test_one_decision_rule():
    assert decide(-3, -1, 0, True) == "supported"
    assert decide(1, 3, 0, True) == "contradicted"
    assert decide(-1, 1, 0, True) == "inconclusive"
    assert decide(-3, -1, 0, False) == "inconclusive"  # too few seeds in an arm
    assert decide(1, 4, 5, True) == "supported"  # below a non-inferiority margin of 5
    assert decide(6, 8, 5, True) == "contradicted"
    assert "{min_seeds}" in DECISION_RULE
    # a family's adjusted p decides; the interval's side gives the direction
    assert decide(-3, -1, 0, True, p_adjusted=0.01) == "supported"
    assert decide(-3, -1, 0, True, p_adjusted=0.2) == "inconclusive"
    assert decide(1, 3, 0, True, p_adjusted=0.01) == "contradicted"
    # a failed guard keeps a claim from being supported, never turns it into a contradiction
    assert decide(-3, -1, 0, True, guard_passes=False) == "inconclusive"


def test_h1_supported_when_rare_sizes_have_larger_errors():
    preds = make_preds(make_test_set(), {"baseline": (rare_sizes_worse, 3)})
    result = h1_rare_sizes(preds, TRAIN_SIZE_COUNTS, FREQUENT, n_resamples=N_RESAMPLES)
    assert result["verdict"] == "supported"
    assert result["ci_low"] <= result["value"] <= result["ci_high"] < 0
    assert result["n_seeds"] == 3 and "baseline 3" in result["explanation"]
    assert result["hypothesis"] == "H1" and result["comparison"] == "baseline"
    assert "size_frequency" in result["statistic"] and "per_atom" in result["secondary_statistic"]
    assert result["method"].startswith("least squares") and result["unit"] == "meV"


def test_h1_uses_the_frequent_bins_only():
    preds = make_preds(make_test_set(), {"baseline": (rare_sizes_worse, 2)})
    result = h1_rare_sizes(preds, TRAIN_SIZE_COUNTS, {14, 15, 16, 17}, n_resamples=50)
    assert f"test molecules of 4 frequent size bins" in result["explanation"]


def test_h1_inconclusive_when_errors_ignore_size():
    preds = make_preds(make_test_set(), {"baseline": (constant(0.02), 3)})
    result = h1_rare_sizes(preds, TRAIN_SIZE_COUNTS, FREQUENT, n_resamples=N_RESAMPLES)
    assert result["verdict"] == "inconclusive"
    assert result["ci_low"] < 0 < result["ci_high"]


def test_one_seed_is_inconclusive_by_rule():
    preds = make_preds(make_test_set(), {"baseline": (rare_sizes_worse, 1)})
    result = h1_rare_sizes(preds, TRAIN_SIZE_COUNTS, FREQUENT, n_resamples=N_RESAMPLES)
    assert result["value"] < 0 and result["verdict"] == "inconclusive"
    assert "fewer than 2 seeds" in result["explanation"]


def test_h1_inconclusive_with_too_few_bins():
    preds = make_preds(make_test_set(), {"baseline": (constant(0.02), 2)})
    result = h1_rare_sizes(preds, TRAIN_SIZE_COUNTS, {12, 13}, n_resamples=N_RESAMPLES)
    assert result["verdict"] == "inconclusive" and np.isnan(result["value"])


def test_h1_is_deterministic():
    preds = make_preds(make_test_set(), {"baseline": (rare_sizes_worse, 2)})
    first = h1_rare_sizes(preds, TRAIN_SIZE_COUNTS, FREQUENT, n_resamples=50)
    assert first == h1_rare_sizes(preds, TRAIN_SIZE_COUNTS, FREQUENT, n_resamples=50)


def test_h2_outcomes():
    test = make_test_set()
    supported = h2_rare_elements(
        make_preds(test, {"baseline": (rare_elements_worse, 3)}), TRAIN_ELEMENT_COUNTS, FREQUENT,
        n_resamples=N_RESAMPLES,
    )
    assert supported["verdict"] == "supported" and supported["value"] < 0
    # H and C are in every molecule: not estimable; F is the rarest of those that are
    assert "N, O, F" in supported["method"] and supported["secondary_statistic"] == "extra_error_with_F_meV"
    assert supported["secondary_ci_low"] > 0
    independent = h2_rare_elements(
        make_preds(test, {"baseline": (constant(0.02), 3)}), TRAIN_ELEMENT_COUNTS, FREQUENT, n_resamples=N_RESAMPLES
    )
    assert independent["verdict"] == "inconclusive"
    assert independent["ci_low"] < 0 < independent["ci_high"]


@pytest.mark.parametrize(
    "baseline_scale, balanced_scale, verdict",
    [
        (size_dependent, constant(0.02), "supported"),
        (constant(0.02), size_dependent, "contradicted"),
        (size_dependent, size_dependent, "inconclusive"),
    ],
)
def test_h3_outcomes(baseline_scale, balanced_scale, verdict):
    preds = make_preds(make_test_set(), {"baseline": (baseline_scale, 3), "balanced_T2000": (balanced_scale, 3)})
    (result,) = h3_balancing(preds, balanced=["balanced_T2000"], frequent_sizes=FREQUENT, n_resamples=N_RESAMPLES)
    assert result["verdict"] == verdict
    assert result["comparison"] == "balanced_T2000 vs baseline"
    assert result["ci_low"] <= result["value"] <= result["ci_high"]
    assert result["secondary_statistic"] == "delta_overall_mae_meV"
    assert result["secondary_ci_low"] <= result["secondary_value"] <= result["secondary_ci_high"]
    assert result["n_seeds"] == 3 and "baseline 3, balanced_T2000 3" in result["explanation"]


def test_h3_one_result_per_balanced_experiment_and_the_placebo_as_control():
    test = make_test_set()
    experiments = {"baseline": (size_dependent, 2), "T2000": (constant(0.02), 2), "T4000": (size_dependent, 2),
                   "placebo": (size_dependent, 2)}
    results = h3_balancing(make_preds(test, experiments), ["T2000", "T4000"], FREQUENT, n_resamples=50,
                           placebo="placebo")
    assert [r["comparison"] for r in results] == ["T2000 vs baseline", "T4000 vs baseline", "placebo vs baseline"]
    assert [r["control"] for r in results] == [False, False, True]
    assert results[-1]["placebo_passes"]
    assert len(h3_balancing(make_preds(test, experiments), "T2000", FREQUENT, n_resamples=50)) == 1


@pytest.mark.parametrize(
    "targeted_scale, verdict",
    [
        (large_scaled(0.5, 2.0), "supported"),  # better on large molecules
        (large_scaled(1.0, 2.0), "supported"),  # as good on them: not worse, the non-inferiority claim
        (large_scaled(2.0, 2.0), "contradicted"),  # worse by far more than the margin
    ],
)
def test_h4_outcomes(targeted_scale, verdict):
    experiments = {"baseline": (large_scaled(1.0, 1.0), 3), "targeted": (targeted_scale, 3)}
    (result,) = h4_targeted(make_preds(make_test_set(per_size=200), experiments), threshold=17,
                            n_resamples=N_RESAMPLES)
    assert result["verdict"] == verdict
    assert result["ci_low"] <= result["value"] <= result["ci_high"]
    assert result["bound"] == pytest.approx(0.10 * 16, rel=0.1)  # 10 % of the baseline's MAE, about 16 meV
    assert result["secondary_statistic"] == "delta_mae_meV_at_most_17_atoms"
    assert result["secondary_ci_low"] > 0  # worse on the small molecules it never saw


def test_h4_inconclusive_when_the_margin_is_inside_the_interval():
    experiments = {"baseline": (large_scaled(1.0, 1.0), 3), "targeted": (large_scaled(1.1, 1.0), 3)}
    (result,) = h4_targeted(make_preds(make_test_set(per_size=30), experiments), n_resamples=N_RESAMPLES)
    assert result["ci_low"] < result["bound"] < result["ci_high"] and result["verdict"] == "inconclusive"


def test_h4_effect_by_hand():
    test = make_test_set(per_size=4)
    preds = {}
    large = test["n_atoms"] > 17
    for seed, shift in enumerate((0.0, 0.002)):  # two seeds, 2 meV apart
        base, targeted = test.copy(), test.copy()
        base["U0_pred_eV"] = test["U0_true_eV"] + 0.010 + shift
        targeted["U0_pred_eV"] = test["U0_true_eV"] - np.where(large, 0.004, 0.030) - shift
        preds[("baseline", seed)], preds[("targeted", seed)] = base, targeted
    (result,) = h4_targeted(preds, n_resamples=20)
    # Constant errors per seed: the bootstrap adds nothing, the interval is the seeds' t interval
    assert result["value"] == pytest.approx(5 - 11)
    assert result["secondary_value"] == pytest.approx(31 - 11)
    half = result["ci_high"] - result["value"]
    # each side's seeds differ by 2 meV: variance 2, over 2 seeds 1; two sides: 2 meV², Welch df 2
    assert half == pytest.approx(4.3027 * np.sqrt(2.0), rel=1e-4)
    # the interval (-12.1 to +0.1 meV) reaches above 0 but stays below the margin (10 % of 11 meV): not worse
    assert result["bound"] == pytest.approx(1.1) and result["verdict"] == "supported"


def test_predictions_must_share_the_test_set():
    test = make_test_set(per_size=5)
    preds = make_preds(test, {"baseline": (constant(0.01), 1), "targeted": (constant(0.01), 1)})
    preds[("targeted", 0)] = preds[("targeted", 0)].iloc[1:]
    with pytest.raises(ValueError, match="shared test molecules"):
        h4_targeted(preds, n_resamples=10)
    with pytest.raises(KeyError, match="custom"):
        h4_targeted(preds, targeted="custom", n_resamples=10)


def test_verdicts_table():
    test = make_test_set()
    experiments = {"baseline": (size_dependent, 2), "T2000": (constant(0.02), 2), "targeted": (constant(0.02), 2)}
    preds = make_preds(test, experiments)
    results = [
        h1_rare_sizes(preds, TRAIN_SIZE_COUNTS, FREQUENT, n_resamples=50),
        h2_rare_elements(preds, TRAIN_ELEMENT_COUNTS, FREQUENT, n_resamples=50),
        h3_balancing(preds, ["T2000"], FREQUENT, n_resamples=50),
        h4_targeted(preds, n_resamples=50),
    ]
    table = verdicts_table(results)
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert table["hypothesis"].tolist() == ["H1", "H2", "H3", "H4"]
    assert table["verdict"].isin(VERDICTS).all()
    assert table["secondary_value"].notna().all()
    runs = pd.DataFrame({"experiment": ["baseline", "baseline", "T2000"], "seed": [0, 1, 0],
                         "status": ["converged", "diverged", "not_converged"], "converged": [True, False, False]})
    named = verdicts_table(results, runs).set_index("hypothesis")["unreliable_runs"]
    assert named["H1"] == "baseline seed 1 (diverged)"
    assert named["H3"] == "baseline seed 1 (diverged); T2000 seed 0 (not_converged)"


def test_least_squares_matches_statsmodels_for_every_resample():
    import statsmodels.api as sm

    from workflow_scripts.evaluation.verdicts import _least_squares

    rng = np.random.default_rng(0)
    design = np.column_stack([np.ones(80), rng.normal(size=80), rng.integers(0, 2, 80)])
    errors = rng.gamma(2.0, 10.0, (2, 80))
    weights = rng.multinomial(80, np.full(80, 1 / 80), size=3).astype(float)
    fitted = _least_squares(weights, design, errors)
    for r in range(3):
        for s in range(2):
            reference = sm.WLS(errors[s], design, weights=weights[r]).fit().params
            assert fitted[r, s] == pytest.approx(reference, rel=1e-8)


def test_h3_judges_each_arm_against_its_matched_control_with_holm():
    """A cap that evens out the errors only as much as less data does is not better balanced."""
    test = make_test_set()
    experiments = {"baseline": (size_dependent, 3), "T2000": (constant(0.02), 3), "T2000_random": (constant(0.02), 3),
                   "T4000": (constant(0.02), 3), "T4000_random": (size_dependent, 3)}
    rows = h3_balancing(make_preds(test, experiments), ["T2000", "T4000"], FREQUENT, n_resamples=N_RESAMPLES,
                        controls={"T2000": "T2000_random", "T4000": "T4000_random"})
    by_arm = {r["comparison"]: r for r in rows}
    assert set(by_arm) == {"T2000 vs T2000_random", "T4000 vs T4000_random"}
    assert by_arm["T2000 vs T2000_random"]["verdict"] == "inconclusive"  # as flat as its control
    assert by_arm["T4000 vs T4000_random"]["verdict"] == "supported"
    for row in rows:  # Holm over the two arms: the adjusted p is at least the raw one
        assert row["p_adjusted"] >= row["p_value"]
        assert row["beside_statistic"] == "delta_cv_mae_frequent_sizes_vs_full_baseline"
    # against the full baseline both arms look balanced: the control is what tells them apart
    assert by_arm["T2000 vs T2000_random"]["beside_ci_high"] < 0


def test_h3_guard_keeps_an_arm_that_is_worse_overall_from_support():
    test = make_test_set()
    experiments = {"baseline": (size_dependent, 3), "T2000": (constant(0.2), 3), "T2000_random": (size_dependent, 3)}
    (row,) = h3_balancing(make_preds(test, experiments), ["T2000"], FREQUENT, n_resamples=N_RESAMPLES,
                          controls={"T2000": "T2000_random"})
    assert row["ci_high"] < 0  # the errors are even across sizes ...
    assert row["secondary_ci_low"] > 0 and not row["guard_passes"]  # ... but far worse everywhere
    assert row["verdict"] == "inconclusive" and "not called better balanced" in row["explanation"]


def test_failed_runs_stay_in_the_verdicts_and_are_named():
    test = make_test_set(per_size=20)
    preds = make_preds(test, {"baseline": (constant(0.02), 3)})
    runs = pd.DataFrame({"experiment": ["baseline", "baseline", "baseline", "T2000"], "seed": [0, 1, 2, 0],
                         "status": ["converged", "collapsed", "not_converged", "diverged"]})
    table = verdicts_table([h1_rare_sizes(preds, TRAIN_SIZE_COUNTS, FREQUENT, n_resamples=20)], runs)
    # kept in the statistic (leaving it out would keep the luckier seeds), named beside the verdict
    assert "baseline 3" in table.loc[0, "seeds"]
    assert table.loc[0, "failed_runs"] == "baseline seed 1 (collapsed)"
    assert table.loc[0, "unreliable_runs"] == "baseline seed 1 (collapsed); baseline seed 2 (not_converged)"


def as_target(preds, target):
    """The same predictions under another target's columns (the numbers unchanged: in its stored unit)."""
    columns = {"U0_true_eV": target.true_column, "U0_pred_eV": target.pred_column}
    return {run: frame.rename(columns=columns) for run, frame in preds.items()}


def _all_verdicts(preds, **target):
    return verdicts_table([
        h1_rare_sizes(preds, TRAIN_SIZE_COUNTS, FREQUENT, n_resamples=50, **target),
        h2_rare_elements(preds, TRAIN_ELEMENT_COUNTS, FREQUENT, n_resamples=50, **target),
        h3_balancing(preds, ["T2000"], FREQUENT, placebo="placebo", n_resamples=50, **target),
        h4_targeted(preds, n_resamples=50, placebo="placebo", **target),
    ])


def test_verdicts_follow_the_target_and_its_unit():
    """The same errors as the dipole moment's (D, stored as shown) give the same verdicts, every error a
    thousandth of U0's meV, written in D; as the gap's (an energy) they give U0's table itself."""
    experiments = {"baseline": (size_dependent, 2), "T2000": (constant(0.02), 2), "targeted": (constant(0.02), 2),
                   "placebo": (size_dependent, 2)}
    preds = make_preds(make_test_set(per_size=20), experiments)
    u0 = _all_verdicts(preds)
    mu = _all_verdicts(as_target(preds, targets.get("mu")), target=targets.get("mu"))
    pd.testing.assert_frame_equal(_all_verdicts(as_target(preds, targets.get("gap")), target=targets.get("gap")), u0)
    assert mu["verdict"].tolist() == u0["verdict"].tolist()
    errors = mu["hypothesis"] != "H3"  # H3's statistic is a ratio: the same in any unit
    np.testing.assert_allclose(mu.loc[errors, "value"], u0.loc[errors, "value"] / 1000, rtol=1e-9)
    np.testing.assert_allclose(mu.loc[~errors, "value"], u0.loc[~errors, "value"], rtol=1e-9)
    assert set(mu.loc[errors, "unit"]) == {"D"} and set(u0.loc[errors, "unit"]) == {"meV"}
    assert mu["secondary_statistic"].str.endswith(("_D", "_D_at_most_17_atoms")).all()
    assert "mae_change_per_atom_at_equal_frequency_D" in set(mu["secondary_statistic"])
    for text in ("explanation", "guard"):
        words = " ".join(mu[text].dropna())
        assert "meV" not in words and "U0" not in words and " D" in words
    # numbers of D with their decimals, not rounded to 0.0
    h4 = mu[(mu["hypothesis"] == "H4") & ~mu["control"]].iloc[0]
    assert f"non-inferiority margin of {h4['bound']:+.3f} D" in h4["explanation"]
