"""The held-out split (disjoint, deterministic, stratified) and the subsets."""

import numpy as np
import pandas as pd
import pytest

from workflow_scripts.data.splits import assign_splits, make_split, sample_pool
from workflow_scripts.data.subsets import SubsetError, cap_for_pool, check_batch_fits, check_not_empty, select, validation_for


def fake_meta(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    sizes = rng.choice(np.arange(5, 27), size=n, p=np.linspace(1, 3, 22) / np.linspace(1, 3, 22).sum())
    frame = pd.DataFrame({"gdb_id": np.arange(1, n + 1), "n_atoms": sizes})
    for e in "HCNO":
        frame[f"n_{e}"] = 1
    frame["n_F"] = (rng.random(n) < 0.02).astype(int)
    return frame


def test_split_is_disjoint_complete_and_sized():
    split = assign_splits(fake_meta(), 0.2, 0.1, seed=1)
    assert split["gdb_id"].is_unique and len(split) == 3000
    counts = split["split"].value_counts()
    assert counts["test"] == 600 and counts["val"] == 300 and counts["train"] == 2100


def test_split_is_deterministic_and_seed_dependent():
    a = assign_splits(fake_meta(), 0.2, 0.1, seed=1)
    b = assign_splits(fake_meta(), 0.2, 0.1, seed=1)
    c = assign_splits(fake_meta(), 0.2, 0.1, seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert not a["split"].equals(c["split"])


def test_split_is_stratified_by_size_and_fluorine():
    meta = fake_meta()
    split = assign_splits(meta, 0.2, 0.1, seed=3)
    test = split[split["split"] == "test"]
    for size, group in split.groupby("n_atoms"):
        expected = len(group) * 0.2
        assert abs((test["n_atoms"] == size).sum() - expected) <= 2, size
    n_f = (split["n_F"] > 0).sum()
    assert abs((test["n_F"] > 0).sum() - 0.2 * n_f) <= 2


def test_pool_sampling_keeps_size_distribution():
    meta = fake_meta()
    pool = sample_pool(meta, 600, seed=0)
    assert len(pool) == 600 and pool["gdb_id"].is_monotonic_increasing
    full = meta["n_atoms"].value_counts(normalize=True)
    sampled = pool["n_atoms"].value_counts(normalize=True)
    assert (sampled - full).abs().max() < 0.01
    assert len(sample_pool(meta, None, 0)) == 3000


def test_caps_and_ranges_by_hand():
    split = pd.DataFrame(
        {"gdb_id": range(1, 11), "n_atoms": [5, 5, 5, 5, 18, 18, 19, 20, 20, 5],
         "split": ["train"] * 9 + ["val"]}
    )
    capped = select(split, {"cap_per_size": 2}, seed=0, cap=2)
    assert capped["n_atoms"].value_counts().to_dict() == {5: 2, 18: 2, 20: 2, 19: 1}
    assert set(select(split, {"min_atoms": 18}, 0)["gdb_id"]) == {5, 6, 7, 8, 9}
    assert set(select(split, {"min_atoms": 18, "max_atoms": 19}, 0)["gdb_id"]) == {5, 6, 7}
    assert len(select(split, {}, 0)) == 9
    assert validation_for(split, {"min_atoms": 18}).empty and len(validation_for(split, {})) == 1
    assert cap_for_pool(2000, 4000, 130831) == 61


def test_subset_checks_name_the_setting():
    with pytest.raises(SubsetError, match="subsets.tiny selects no training molecule"):
        check_not_empty("tiny", 0, 5)
    with pytest.raises(SubsetError, match="subsets.tiny selects no validation molecule"):
        check_not_empty("tiny", 5, 0)
    with pytest.raises(SubsetError, match="subsets.tiny holds 10 training molecules, fewer than one batch of experiment exp"):
        check_batch_fits("tiny", 10, 32, "exp")
    check_not_empty("ok", 100, 5)
    check_batch_fits("ok", 100, 32, "exp")


def test_make_split_from_real_metadata_is_byte_identical(tmp_path):
    meta = fake_meta()
    a = make_split(meta, 1000, 0.2, 0.1, seed=7)
    b = make_split(meta, 1000, 0.2, 0.1, seed=7)
    a.to_parquet(tmp_path / "a.parquet")
    b.to_parquet(tmp_path / "b.parquet")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
