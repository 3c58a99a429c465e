"""The seed-aware interval: by hand on small cases, and by simulation where the answer is known.

The simulation draws, in each repeat, a new test set and new training seeds from one model of the errors:
molecule difficulty (shared by every model), a per-seed quality factor (seed-to-seed variation) and
per-molecule noise. Each repeat is judged as the study judges an arm against the baseline.
"""

import math

import numpy as np
import pytest
from scipy import stats

from workflow_scripts.evaluation.stratum_metrics import resample_counts
from workflow_scripts.evaluation.intervals import (combine, comparison_interval, holm, p_value, stratum_interval,
                                                   t_quantile)
from workflow_scripts.evaluation.verdicts import mae_statistic, seed_aware_interval

REPEATS = 120
N_MOLECULES = 300
SEED_SD = 0.2  # log-scale spread of a model's overall quality between seeds
RESAMPLES = 200


def simulate(rng, n_seeds: int, effect: float) -> dict[str, np.ndarray]:
    """|errors| (meV) of a baseline and an arm, shape (seeds, molecules); the arm's are ``1 - effect`` times."""
    difficulty = 20 * np.exp(rng.normal(0, 0.6, N_MOLECULES))
    errors = {}
    for name, factor in (("baseline", 1.0), ("arm", 1.0 - effect)):
        quality = np.exp(rng.normal(0, SEED_SD, (n_seeds, 1)))
        noise = np.exp(rng.normal(0, 0.5, (n_seeds, N_MOLECULES)))
        errors[name] = factor * difficulty * quality * noise
    return errors


def molecule_only_interval(errors, rng_seed: int) -> tuple[float, float]:
    """What the study reported before: seeds averaged, a percentile bootstrap over the test molecules only."""
    mean = {name: e.mean(axis=0) for name, e in errors.items()}
    boot = np.concatenate([w @ (mean["arm"] - mean["baseline"]) / N_MOLECULES
                           for w in resample_counts(N_MOLECULES, RESAMPLES, np.random.default_rng(rng_seed))])
    return tuple(np.percentile(boot, [2.5, 97.5]))


def judge(errors, repeat: int) -> dict:
    return seed_aware_interval(errors, {"arm": 1.0, "baseline": -1.0}, mae_statistic(np.ones(N_MOLECULES, bool)),
                               RESAMPLES, repeat)


def test_combine_by_hand():
    # two experiments of 3 seeds, seed variances 4 and 2 (already divided by n), a test-set variance of 1
    result = combine(10.0, [(4.0, 3), (2.0, 3)], 1.0)
    df = 7.0**2 / (4.0**2 / 2 + 2.0**2 / 2)
    half = stats.t.ppf(0.975, df) * math.sqrt(7.0)
    assert result["df"] == pytest.approx(df)
    assert (result["low"], result["high"]) == pytest.approx((10 - half, 10 + half))
    assert result["seed_variance_known"]
    # seeds that agree exactly: the seeds' own degrees of freedom, never the normal quantile
    alone = combine(0.0, [(0.0, 3)], 1.0)
    assert alone["df"] == 2 and alone["high"] == pytest.approx(stats.t.ppf(0.975, 2))
    two_arms = combine(0.0, [(0.0, 2), (0.0, 3)], 1.0)
    assert two_arms["df"] == 3 and np.isfinite(two_arms["df"])
    # one seed: its variance is unknown, and the result says so
    assert not combine(0.0, [(math.nan, 1)], 1.0)["seed_variance_known"]


def test_comparison_interval_by_hand():
    per_seed = {"arm": np.array([10.0, 12.0, 14.0]), "baseline": np.array([20.0, 21.0])}
    boot = np.array([-9.0, -8.0, -10.0, -9.5, -8.5])
    result = comparison_interval(per_seed, boot, {"arm": 1.0, "baseline": -1.0})
    v_seed = np.var([10, 12, 14], ddof=1) / 3 + np.var([20, 21], ddof=1) / 2
    v_test = np.var(boot, ddof=1)
    assert result["value"] == pytest.approx(12 - 20.5)
    assert result["se"] == pytest.approx(math.sqrt(v_seed + v_test))
    assert result["n_seeds"] == 2
    df = (v_seed + v_test) ** 2 / ((np.var([10, 12, 14], ddof=1) / 3) ** 2 / 2 + (np.var([20, 21], ddof=1) / 2) ** 2)
    assert result["high"] - result["value"] == pytest.approx(t_quantile(df) * result["se"])


def test_p_value_matches_the_interval():
    result = combine(3.0, [(1.0, 3), (0.5, 3)], 0.5)
    # the interval's end at the bound has p exactly 0.05
    assert p_value(result["value"], result["low"], result["se"], result["df"]) == pytest.approx(0.05)
    assert result["p_value"] == pytest.approx(2 * stats.t.sf(3.0 / result["se"], result["df"]))
    assert math.isnan(p_value(math.nan, 0.0, 1.0, 3.0))


def test_holm_matches_statsmodels():
    from statsmodels.stats.multitest import multipletests

    p = np.array([0.01, 0.04, 0.03, 0.5, 0.0001])
    assert holm(p) == pytest.approx(multipletests(p, method="holm")[1])
    with_nan = holm([0.02, math.nan, 0.01])
    assert math.isnan(with_nan[1]) and with_nan[[0, 2]] == pytest.approx([0.02, 0.02])


def test_stratum_interval_by_its_formula():
    """Three seeds: mean ± t(df) * sqrt(var/3 + mean test variance), df by Welch-Satterthwaite."""
    values, low, high = np.array([100.0, 120.0, 95.0]), np.array([80.0, 96.0, 77.0]), np.array([120.0, 150.0, 115.0])
    result = stratum_interval(values, low, high)
    v_seed = np.var(values, ddof=1) / 3
    v_test = np.mean(((high - low) / 2 / stats.norm.ppf(0.975)) ** 2)
    df = (v_seed + v_test) ** 2 / (v_seed**2 / 2)
    half = stats.t.ppf(0.975, df) * math.sqrt(v_seed + v_test)
    assert result["df"] == pytest.approx(df)
    assert (result["low"], result["high"]) == pytest.approx((values.mean() - half, values.mean() + half))


def test_stratum_interval_shares_the_test_set_noise():
    one = stratum_interval(np.array([100.0]), np.array([90.0]), np.array([110.0]))
    assert (one["low"], one["high"]) == pytest.approx((90.0, 110.0)) and not one["seed_variance_known"]
    two = stratum_interval(np.array([100.0, 140.0]), np.array([90.0, 130.0]), np.array([110.0, 150.0]))
    assert two["value"] == 120.0 and two["low"] < 90 and two["high"] > 150  # seed spread widens it


def test_null_effect_is_rarely_found_and_the_molecule_only_interval_finds_it_often():
    rng = np.random.default_rng(7)
    seed_aware = molecule_only = 0
    for repeat in range(REPEATS):
        errors = simulate(rng, n_seeds=3, effect=0.0)
        result = judge(errors, repeat)
        seed_aware += not result["low"] <= 0 <= result["high"]
        low, high = molecule_only_interval(errors, repeat)
        molecule_only += not low <= 0 <= high
    # nominal 5 %; 120 repeats: at most 10 % allows for simulation noise
    assert seed_aware / REPEATS <= 0.10, seed_aware
    assert molecule_only / REPEATS >= 0.30, molecule_only  # why the study's old verdicts could not be trusted


def test_true_effect_is_found():
    rng = np.random.default_rng(11)
    found = sum(judge(simulate(rng, n_seeds=5, effect=0.5), repeat)["high"] < 0 for repeat in range(REPEATS))
    assert found / REPEATS >= 0.80, found


def test_standard_error_matches_the_spread_over_repeats():
    """Brute force: the interval's standard error against the spread of the estimate over fresh repeats."""
    rng = np.random.default_rng(3)
    results = [judge(simulate(rng, n_seeds=3, effect=0.2), repeat) for repeat in range(REPEATS)]
    spread = np.std([r["value"] for r in results], ddof=1)
    typical_se = np.sqrt(np.mean([r["se"] ** 2 for r in results]))
    assert 0.75 <= typical_se / spread <= 1.35, (typical_se, spread)
