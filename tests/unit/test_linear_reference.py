"""The element-count linear baseline: exact recovery, absent elements, serialization, usefulness."""

import json

import numpy as np
import pandas as pd
import pytest

from workflow_scripts.properties import ATOMREF_U0_HARTREE, ELEMENTS, HARTREE_TO_EV
from workflow_scripts.training.linear_reference import LinearReference, fit


def molecules(n, rng, with_fluorine=True):
    counts = {
        "n_H": rng.integers(0, 12, n),
        "n_C": rng.integers(1, 9, n),
        "n_N": rng.integers(0, 3, n),
        "n_O": rng.integers(0, 4, n),
        "n_F": rng.integers(0, 3, n) if with_fluorine else np.zeros(n, int),
    }
    frame = pd.DataFrame(counts)
    frame["n_atoms"] = frame.sum(axis=1)
    return frame


def test_recovers_an_exact_linear_function():
    frame = molecules(50, np.random.default_rng(0))
    truth = {"H": -13.6, "C": -1030.0, "N": -1485.0, "O": -2042.5, "F": -2713.25}
    frame["U0"] = 1.5 + sum(truth[e] * frame[f"n_{e}"] for e in ELEMENTS)
    model = fit(frame)
    for e in ELEMENTS:
        assert model.coefficients[e] == pytest.approx(truth[e], abs=1e-9)
    assert model.intercept == pytest.approx(1.5, abs=1e-9)
    np.testing.assert_allclose(model.predict(frame), frame["U0"], rtol=0, atol=1e-9)


def test_two_molecules_by_hand():
    # Only C varies (H fixed at 4, no N/O/F): U0 = a + b * n_C, N/O/F coefficients 0.
    frame = pd.DataFrame({"n_H": [4, 4], "n_C": [1, 2], "n_N": [0, 0], "n_O": [0, 0], "n_F": [0, 0]})
    frame["U0"] = [-100.0, -130.0]
    model = fit(frame)
    assert model.coefficients["N"] == model.coefficients["O"] == model.coefficients["F"] == 0.0
    # Only a + 4 c_H = -70 is determined; the minimum-norm solution has (a, c_H) parallel to (1, 4).
    assert model.coefficients["C"] == pytest.approx(-30.0, abs=1e-9)
    assert model.intercept + 4 * model.coefficients["H"] == pytest.approx(-70.0, abs=1e-9)
    assert model.coefficients["H"] == pytest.approx(4 * model.intercept, abs=1e-9)


def test_element_absent_from_training_gets_zero_and_finite_predictions():
    rng = np.random.default_rng(1)
    train = molecules(40, rng, with_fluorine=False)
    train["U0"] = -5.0 * train["n_H"] - 1000.0 * train["n_C"] - 1500.0 * train["n_N"] - 2000.0 * train["n_O"]
    model = fit(train)
    assert model.coefficients["F"] == 0.0
    assert model.coefficients["O"] == pytest.approx(-2000.0, abs=1e-9)
    test = molecules(10, rng, with_fluorine=True)
    assert np.isfinite(model.predict(test)).all()


def test_round_trip_through_json():
    model = LinearReference({"H": -1.0, "C": -2.0, "N": -3.0, "O": -4.0, "F": 0.0}, 0.25)
    restored = LinearReference.from_dict(json.loads(json.dumps(model.to_dict())))
    assert restored == model


def test_beats_the_mean_on_qm9_like_data():
    rng = np.random.default_rng(2)
    frame = molecules(600, rng)
    atomref = sum(ATOMREF_U0_HARTREE[e] * HARTREE_TO_EV * frame[f"n_{e}"] for e in ELEMENTS)
    # Binding energy: roughly per atom, plus a nonlinear term and noise the model cannot capture.
    frame["U0"] = atomref - 4.0 * frame["n_atoms"] - 0.05 * frame["n_C"] ** 2 + rng.normal(0, 0.5, len(frame))
    train, test = frame.iloc[:400], frame.iloc[400:]
    model = fit(train)
    linear_mae = np.mean(np.abs(model.predict(test) - test["U0"]))
    mean_mae = np.mean(np.abs(train["U0"].mean() - test["U0"]))
    assert linear_mae < mean_mae / 100


def test_fit_needs_molecules():
    empty = pd.DataFrame({f"n_{e}": [] for e in ELEMENTS} | {"U0": []})
    with pytest.raises(ValueError):
        fit(empty)


def test_reference_molecules_are_the_subset_or_the_whole_training_split():
    from workflow_scripts.training.linear_reference import reference_molecules

    split = pd.DataFrame({"gdb_id": [1, 2, 3, 4], "split": ["train", "train", "val", "test"]})
    subset = split.iloc[[1]]
    assert reference_molecules(split, subset, {"energy_reference": "fitted"}) is subset
    own = reference_molecules(split, subset, {"energy_reference_molecules": "subset"})
    assert own["gdb_id"].tolist() == [2]
    shared = reference_molecules(split, subset, {"energy_reference_molecules": "training_split"})
    assert shared["gdb_id"].tolist() == [1, 2]
