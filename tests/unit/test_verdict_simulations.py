"""False-positive rate and power of every verdict's statistic, by simulation at the seeds the study has.

Each repeat draws a new test set and new trained models from one model of the errors, then judges it as the
study does. The models' errors carry what real trainings show: molecule difficulty shared by every model, a
per-seed overall quality, a per-seed error pattern over size bins and over elements (another seed learns
another bias), and per-molecule noise. With no true effect the share of "supported" verdicts must stay at the
nominal 5 % or below (plus Monte Carlo error); with a planted effect of the stated size it must be found in the
stated share. One case has seeds that agree exactly (a deterministic training), the case that gave the old
rank statistic an infinite number of degrees of freedom.
"""

import math

import numpy as np
import pandas as pd
import pytest

from workflow_scripts.evaluation.verdicts import h1_rare_sizes, h2_rare_elements, h3_balancing, h4_targeted

REPEATS = 120
RESAMPLES = 100
N_MOLECULES = 700
SIZES = np.arange(12, 24)
FREQUENT = set(int(s) for s in SIZES)
# training molecules per size: a bell around 18 atoms, as in QM9
TRAIN_SIZE_COUNTS = {int(s): int(3000 * np.exp(-(((s - 18) / 3.5) ** 2))) + 40 for s in SIZES}
ELEMENT_SHARE = {"N": 0.6, "O": 0.85, "F": 0.08}
TRAIN_ELEMENT_COUNTS = {"H": 3000, "C": 3000, "N": 1800, "O": 2550, "F": 45}


# the seeds the study has (2: the fewest a verdict accepts, 3: every compared arm at the quick and thesis
# scales), and two seeds that agree exactly
SEED_CASES = pytest.mark.parametrize(("n_seeds", "identical"), [(2, False), (3, False), (2, True)],
                                     ids=["2 seeds", "3 seeds", "2 seeds that agree"])


def allowed(repeats: int = REPEATS) -> float:
    """Nominal 5 %, plus twice the Monte Carlo standard error of a 5 % rate over ``repeats``."""
    return 0.05 + 2 * math.sqrt(0.05 * 0.95 / repeats)


def draw_test_set(rng, per_size: int | None = None) -> pd.DataFrame:
    """Sizes as in training, or ``per_size`` molecules of each (the study's floor per size bin)."""
    if per_size is None:
        p = np.array([TRAIN_SIZE_COUNTS[int(s)] for s in SIZES], dtype=float)
        sizes = rng.choice(SIZES, size=N_MOLECULES, p=p / p.sum())
    else:
        sizes = np.repeat(SIZES, per_size)
    n = len(sizes)
    frame = pd.DataFrame({"gdb_id": np.arange(1, n + 1), "n_atoms": sizes})
    for symbol, share in ELEMENT_SHARE.items():
        frame[f"n_{symbol}"] = (rng.random(n) < share).astype(int)
    frame["n_C"] = sizes // 3
    frame["n_H"] = sizes - frame[["n_C", "n_N", "n_O", "n_F"]].sum(axis=1)
    frame["U0_true_eV"] = -30.0 * sizes
    return frame


def errors_meV(rng, test: pd.DataFrame, n_seeds: int, difficulty: np.ndarray, factor=None,
               identical_seeds: bool = False) -> list[np.ndarray]:
    """|error| (meV) of one experiment's seeds; ``factor(test)`` multiplies them (a planted effect)."""
    sizes = test["n_atoms"].to_numpy()
    planted = np.ones(len(test)) if factor is None else factor(test)
    out = []
    # a deterministic training: every seed gives the same model, and no seed-level bias exists to average out
    bias = 0.0 if identical_seeds else 1.0
    for _ in range(n_seeds):
        if identical_seeds and out:
            out.append(out[0])
            continue
        quality = np.exp(rng.normal(0, 0.1 * bias))
        size_bias = dict(zip(SIZES, np.exp(rng.normal(0, 0.15 * bias, len(SIZES)))))
        element_bias = np.ones(len(test))
        for symbol in ELEMENT_SHARE:
            element_bias *= np.where(test[f"n_{symbol}"] > 0, np.exp(rng.normal(0, 0.1 * bias)), 1.0)
        noise = np.exp(rng.normal(0, 0.5, len(test)))
        out.append(quality * np.array([size_bias[s] for s in sizes]) * element_bias * noise * difficulty * planted)
    return out


def predictions(rng, test, arms: dict, identical_seeds=False) -> dict:
    """{(experiment, seed): predictions} for ``arms``: name -> (seeds, factor or None)."""
    difficulty = 60 * np.exp(rng.normal(0, 0.6, len(test)))
    preds = {}
    for name, (n_seeds, factor) in arms.items():
        for seed, error in enumerate(errors_meV(rng, test, n_seeds, difficulty, factor, identical_seeds)):
            frame = test.copy()
            frame["U0_pred_eV"] = frame["U0_true_eV"] + rng.choice([-1, 1], len(test)) * error / 1000
            preds[(name, seed)] = frame
    return preds


def share(verdicts, wanted="supported") -> float:
    return float(np.mean([v == wanted for v in verdicts]))


def rarer_sizes_worse(strength):
    """Errors grow by ``strength`` (a fraction) each time a size is half as frequent in training."""
    top = max(TRAIN_SIZE_COUNTS.values())
    return lambda test: (1 + strength) ** np.log2(top / test["n_atoms"].map(TRAIN_SIZE_COUNTS).to_numpy())


def with_fluorine_worse(factor):
    return lambda test: np.where(test["n_F"] > 0, factor, 1.0)


def size_pattern(test):
    """Every model's errors grow away from the most frequent size, as the baseline's do."""
    return 1 + 1.5 * np.tanh(np.abs(test["n_atoms"].to_numpy() - 18) / 3)


def flatter_by_size(strength):
    """The size pattern evened out: ``strength`` 1 removes it, 0 keeps it."""
    return lambda test: size_pattern(test) ** (1 - strength)


def larger_scaled(factor, threshold=17):
    return lambda test: np.where(test["n_atoms"].to_numpy() > threshold, factor, 1.0)


def run_h1(rng, n_seeds, factor=None, identical=False):
    test = draw_test_set(rng)
    preds = predictions(rng, test, {"baseline": (n_seeds, factor)}, identical)
    return h1_rare_sizes(preds, TRAIN_SIZE_COUNTS, FREQUENT, n_resamples=RESAMPLES, seed=int(rng.integers(1e9)))


def run_h2(rng, n_seeds, factor=None, identical=False):
    test = draw_test_set(rng)
    preds = predictions(rng, test, {"baseline": (n_seeds, factor)}, identical)
    return h2_rare_elements(preds, TRAIN_ELEMENT_COUNTS, FREQUENT, n_resamples=RESAMPLES, seed=int(rng.integers(1e9)))


def run_h3(rng, n_seeds, factor=None, identical=False, arms=3):
    """``arms`` balancing arms, each against a matched control with the baseline's error model; 100 test
    molecules per size bin, the floor the study's quick test set meets."""
    test = draw_test_set(rng, per_size=100)
    spec = {"baseline": (n_seeds, size_pattern)}
    for k in range(arms):
        spec[f"arm{k}"] = (n_seeds, factor if k == 0 and factor is not None else size_pattern)
        spec[f"control{k}"] = (n_seeds, size_pattern)
    preds = predictions(rng, test, spec, identical)
    return h3_balancing(preds, [f"arm{k}" for k in range(arms)], FREQUENT,
                        controls={f"arm{k}": f"control{k}" for k in range(arms)}, n_resamples=RESAMPLES,
                        seed=int(rng.integers(1e9)))


def run_h4(rng, n_seeds, factor, identical=False):
    test = draw_test_set(rng)
    preds = predictions(rng, test, {"baseline": (n_seeds, None), "targeted": (n_seeds, factor)}, identical)
    (row,) = h4_targeted(preds, n_resamples=RESAMPLES, seed=int(rng.integers(1e9)))
    return row


@SEED_CASES
def test_h1_no_effect_is_rarely_supported(n_seeds, identical):
    rng = np.random.default_rng(100 + n_seeds + 10 * identical)
    rows = [run_h1(rng, n_seeds, identical=identical) for _ in range(REPEATS)]
    assert share(r["verdict"] for r in rows) <= allowed()
    if identical:  # seeds that agree give a finite number of degrees of freedom: never a normal quantile
        assert all(np.isfinite(r["ci_low"]) for r in rows)


@SEED_CASES
def test_h2_no_effect_is_rarely_supported(n_seeds, identical):
    rng = np.random.default_rng(200 + n_seeds + 10 * identical)
    assert share(run_h2(rng, n_seeds, identical=identical)["verdict"] for _ in range(REPEATS)) <= allowed()


@SEED_CASES
def test_h3_no_effect_is_rarely_supported_by_any_arm(n_seeds, identical):
    """Three arms, none balanced: the chance that any of them is called supported (Holm) stays at 5 %."""
    rng = np.random.default_rng(300 + n_seeds + 10 * identical)
    repeats = 80  # H3 judges 7 experiments per repeat: the slowest simulation
    any_supported = [any(r["verdict"] == "supported" for r in run_h3(rng, n_seeds, identical=identical))
                     for _ in range(repeats)]
    assert np.mean(any_supported) <= allowed(repeats)


def test_h3_planted_effect_is_found():
    """One of three arms with the size pattern removed (the far sizes' errors 2.4 times lower): found in a third
    of the repeats or more at 3 seeds (measured: 50 % of 30). The coefficient of variation over 13 bins, per-seed
    size biases and Holm over three arms make H3 the study's least powerful test: an inconclusive H3 is weak
    evidence of no effect, and the report says so."""
    rng = np.random.default_rng(3)
    found = share(run_h3(rng, 3, flatter_by_size(1.0))[0]["verdict"] for _ in range(40))
    assert found >= 0.33, found


@SEED_CASES
def test_h4_worse_by_the_margin_is_rarely_called_not_worse(n_seeds, identical):
    """The non-inferiority null: targeted exactly 10 % worse above 17 atoms, the margin itself."""
    rng = np.random.default_rng(400 + n_seeds + 10 * identical)
    assert share(run_h4(rng, n_seeds, larger_scaled(1.10), identical)["verdict"] for _ in range(REPEATS)) <= allowed()


@pytest.mark.parametrize(("run", "planted", "share_found", "rng_seed"), [
    # errors 20 % larger for each halving of a size's training frequency (measured: found in 90 % of 40 repeats)
    (run_h1, rarer_sizes_worse(0.2), 0.7, 1),
    # molecules with F (the rare element) 1.6 times the error of others (measured: 83 % of 40)
    (run_h2, with_fluorine_worse(1.6), 0.7, 2),
    # targeted 40 % better above 17 atoms: called not worse
    (run_h4, larger_scaled(0.6), 0.7, 4),
], ids=["H1", "H2", "H4"])
def test_planted_effect_is_found_at_3_seeds(run, planted, share_found, rng_seed):
    rng = np.random.default_rng(rng_seed)
    found = share(run(rng, 3, planted)["verdict"] for _ in range(REPEATS // 2))
    assert found >= share_found, found
