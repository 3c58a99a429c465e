"""Loss weight formulas against values computed by hand."""

import math

import numpy as np
import pytest

from workflow_scripts.training.weights import loss_weights, size_based, size_frequency_based


def test_size_based_by_hand():
    # r = 10: s = 18 -> 11^10 / 10^11 + 1 = 25937424601 / 1e11 + 1
    assert size_based([18], 10)[0] == pytest.approx(25937424601 / 1e11 + 1)
    assert size_based([29], 10)[0] == pytest.approx(22**10 / 1e11 + 1)
    assert size_based([5, 7], 10).tolist() == [1.0, 1.0]
    # r = 2: s = 17 -> 100 / 1000 + 1
    assert size_based([17], 2)[0] == pytest.approx(1.1)
    np.testing.assert_allclose(size_based(np.arange(3, 30), 0), 1.1)  # r = 0: constant 1 + 1/10


def test_size_frequency_by_hand():
    # r = 10, s = 20: log(20^10 / 1e11 - 10/4.5)
    assert size_frequency_based([20], 10)[0] == pytest.approx(math.log(20**10 / 1e11 - 10 / 4.5))
    # argument negative for s <= 13 at r = 10; log < 1 at s = 14 -> clipped to 1
    assert size_frequency_based([5, 13, 14], 10).tolist() == [1.0, 1.0, 1.0]
    np.testing.assert_array_equal(size_frequency_based(np.arange(3, 30), 0), 1.0)  # r = 0 is the plain loss


def test_inverse_frequency_by_hand():
    train = [10, 10, 10, 20]  # f(10) = 0.75, f(20) = 0.25
    w = loss_weights("inverse_frequency", [10, 20], train_sizes=train, alpha=1.0)
    # raw v(10) = 0.5/0.75, v(20) = 0.5/0.25; mean over training = (3*2/3 + 2)/4 = 1
    np.testing.assert_allclose(w, [2 / 3, 2.0])
    assert loss_weights("inverse_frequency", train, train_sizes=train, alpha=0.5).mean() == pytest.approx(1.0)


@pytest.mark.parametrize("scheme", ["none", "size", "size_frequency", "inverse_frequency"])
@pytest.mark.parametrize("rate", [0, 1, 2.5, 10])
def test_always_finite_and_positive(scheme, rate):
    sizes = np.arange(3, 30)
    w = loss_weights(scheme, sizes, train_sizes=sizes, rate=rate, alpha=rate / 5)
    assert np.all(np.isfinite(w)) and np.all(w > 0)


def test_unknown_scheme():
    with pytest.raises(ValueError, match="unknown loss weighting 'cubic'"):
        loss_weights("cubic", [5])
