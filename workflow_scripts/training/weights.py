"""Per-molecule loss weights that grow with molecule size (thesis §5, experiment 3).

Every scheme maps a molecule's size s (number of atoms) to a factor v that
multiplies its loss. All factors are finite and positive; rate 0 (or alpha 0)
is the plain, unweighted loss.
"""

from __future__ import annotations

import numpy as np

SCHEMES = ("none", "size", "size_frequency", "inverse_frequency")
# the schemes whose size exponent is the loss's rate (inverse_frequency has alpha instead)
RATE_SCHEMES = ("size", "size_frequency")


def size_based(sizes, rate: float) -> np.ndarray:
    """v = (s - 7)^r / 10^(r+1) + 1, with (s - 7) clipped at 0.

    The thesis prints (s - 7)^r; for s < 7 and a non-integer r that power is
    undefined, so molecules of 7 atoms or fewer get the plain weight 1.
    """
    s = np.asarray(sizes, dtype=np.float64)
    return np.clip(s - 7.0, 0.0, None) ** rate / 10.0 ** (rate + 1.0) + 1.0


def size_frequency_based(sizes, rate: float) -> np.ndarray:
    """v = max(1, log(s^r / 10^(r+1) - r / 4.5)), and 1 where the log is undefined.

    The formula as the thesis prints it; the argument of the log is negative
    for small molecules (for r = 10, every s <= 13), and the frequency the text
    defines does not appear in it (see docs/study.md).
    """
    s = np.asarray(sizes, dtype=np.float64)
    argument = s**rate / 10.0 ** (rate + 1.0) - rate / 4.5
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(argument > 0, np.log(np.where(argument > 0, argument, 1.0)), 1.0)
    return np.maximum(value, 1.0)


def inverse_frequency(sizes, train_sizes, alpha: float) -> np.ndarray:
    """v = (f_mean / f(s))^alpha, normalized to mean 1 over the training set.

    f(s) is the share of training molecules with size s. Sizes absent from
    the training set (possible only for molecules outside it) get the weight
    of the rarest training size.
    """
    train_sizes = np.asarray(train_sizes, dtype=np.int64)
    values, counts = np.unique(train_sizes, return_counts=True)
    frequency = dict(zip(values.tolist(), (counts / counts.sum()).tolist()))
    rarest = min(frequency.values())
    f_mean = float(np.mean(list(frequency.values())))

    def raw(s):
        f = np.array([frequency.get(int(x), rarest) for x in np.asarray(s).ravel()])
        return (f_mean / f) ** alpha

    return raw(sizes) / raw(train_sizes).mean()


def loss_weights(scheme: str, sizes, train_sizes=None, rate: float = 0.0, alpha: float = 1.0) -> np.ndarray:
    """The factor of each molecule of ``sizes`` for ``scheme`` (see SCHEMES)."""
    sizes = np.asarray(sizes)
    if scheme == "none":
        weights = np.ones(len(sizes))
    elif scheme == "size":
        weights = size_based(sizes, rate)
    elif scheme == "size_frequency":
        weights = size_frequency_based(sizes, rate)
    elif scheme == "inverse_frequency":
        if train_sizes is None:
            raise ValueError("inverse_frequency weighting needs the training set's sizes")
        weights = inverse_frequency(sizes, train_sizes, alpha)
    else:
        raise ValueError(f"unknown loss weighting {scheme!r}; use one of {SCHEMES}")
    if not np.all(np.isfinite(weights)) or np.any(weights <= 0):
        raise ValueError(f"loss weighting {scheme!r} (rate={rate}, alpha={alpha}) gives non-finite or non-positive weights")
    return weights
