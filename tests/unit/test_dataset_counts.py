"""Counting for Table 1, Figure 1 and Appendix Figure 5, checked by hand."""

import pandas as pd

from workflow_scripts.data.dataset_counts import element_frequency, element_size_counts, size_histogram


def small_meta():
    # CH4 (5 atoms), NH3 (4), H2O (3), CH3F (5), C2H6O (9)
    return pd.DataFrame(
        {
            "n_atoms": [5, 4, 3, 5, 9],
            "n_H": [4, 3, 2, 3, 6],
            "n_C": [1, 0, 0, 1, 2],
            "n_N": [0, 1, 0, 0, 0],
            "n_O": [0, 0, 1, 0, 1],
            "n_F": [0, 0, 0, 1, 0],
        }
    )


def test_element_frequency():
    freq = element_frequency(small_meta()).set_index("element")
    assert freq["molecules"].to_dict() == {"H": 5, "C": 3, "N": 1, "O": 2, "F": 1}
    assert freq.loc["C", "fraction"] == 0.6


def test_size_histogram_fills_gaps_and_flags_frequent_bins():
    hist = size_histogram(small_meta(), frequent_bin_fraction=0.25)
    assert hist["n_atoms"].tolist() == [3, 4, 5, 6, 7, 8, 9]
    assert hist["molecules"].tolist() == [1, 1, 2, 0, 0, 0, 1]
    # 2/5 = 0.4 > 0.25; 1/5 = 0.2 is not
    assert hist.loc[hist["frequent"], "n_atoms"].tolist() == [5]


def test_element_size_counts():
    counts = element_size_counts(small_meta())
    oxygen = counts[counts["element"] == "O"].set_index("n_atoms")
    assert oxygen.loc[3, "molecules"] == 1 and oxygen.loc[9, "molecules"] == 1
    assert oxygen.loc[3, "fraction_of_element"] == 0.5
    assert counts.groupby("element")["molecules"].sum().to_dict() == {"C": 3, "F": 1, "H": 5, "N": 1, "O": 2}
