"""Dataset analysis of the thesis (§3.2.1): Table 1, Figure 1, Appendix Figure 5."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workflow_scripts.properties import ELEMENTS, contains


def element_frequency(meta: pd.DataFrame) -> pd.DataFrame:
    """Per element: molecules that contain it, and their fraction (Table 1)."""
    rows = []
    for symbol in ELEMENTS:
        count = int(contains(meta, symbol).sum())
        rows.append({"element": symbol, "molecules": count, "fraction": count / len(meta)})
    return pd.DataFrame(rows)


def size_histogram(meta: pd.DataFrame, frequent_bin_fraction: float) -> pd.DataFrame:
    """Molecules per number of atoms, every size from the smallest to the largest.

    ``frequent`` marks the size bins holding more than ``frequent_bin_fraction``
    of the molecules: the thesis's evaluation strata.
    """
    counts = meta["n_atoms"].value_counts()
    sizes = np.arange(int(meta["n_atoms"].min()), int(meta["n_atoms"].max()) + 1)
    molecules = counts.reindex(sizes, fill_value=0).to_numpy()
    fraction = molecules / len(meta)
    return pd.DataFrame(
        {"n_atoms": sizes, "molecules": molecules, "fraction": fraction, "frequent": fraction > frequent_bin_fraction}
    )


def element_size_counts(meta: pd.DataFrame) -> pd.DataFrame:
    """Long table: for each element and size, molecules of that size containing it.

    ``fraction_of_element`` normalizes over the molecules containing the
    element, so that rare elements' size distributions can be compared.
    """
    sizes = np.arange(int(meta["n_atoms"].min()), int(meta["n_atoms"].max()) + 1)
    frames = []
    for symbol in ELEMENTS:
        has = meta.loc[contains(meta, symbol), "n_atoms"]
        counts = has.value_counts().reindex(sizes, fill_value=0).to_numpy()
        total = max(int(counts.sum()), 1)
        frames.append(
            pd.DataFrame({"element": symbol, "n_atoms": sizes, "molecules": counts, "fraction_of_element": counts / total})
        )
    return pd.concat(frames, ignore_index=True)
