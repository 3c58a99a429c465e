"""The held-out split (disjoint, deterministic, stratified) and the subsets."""

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import REPO
from workflow_scripts.config import ConfigError
from workflow_scripts.data.splits import IN_POOL, assign_splits, held_out_counts, make_split, sample_pool
from workflow_scripts.data.subsets import (SubsetError, cap_for_pool, check_batch_fits, check_not_empty, draw, draw_all,
                                           random_size, select, select_random, validation_for)


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


def test_extra_test_molecules_leave_the_pool_and_its_split_unchanged():
    meta = fake_meta()
    pool_only = make_split(meta, 1000, 0.2, 0.1, seed=7)
    grown = make_split(meta, 1000, 0.2, 0.1, seed=7, test_size=700)
    # the pool's rows first, as without test_size: same molecules, same split, same rows of the store
    pd.testing.assert_frame_equal(grown.iloc[:1000], pool_only)
    assert pool_only[IN_POOL].all()
    extra = grown.iloc[1000:]
    assert len(extra) == 500 and not extra[IN_POOL].any() and (extra["split"] == "test").all()
    assert not set(extra["gdb_id"]) & set(pool_only["gdb_id"]) and extra["gdb_id"].is_monotonic_increasing
    assert (grown["split"] == "test").sum() == 700 and grown["gdb_id"].is_unique
    # stratified like the pool: each size's share of the extra molecules is its share outside the pool
    outside = meta[~meta["gdb_id"].isin(pool_only["gdb_id"])]
    expected = outside["n_atoms"].value_counts() * 500 / len(outside)
    assert (extra["n_atoms"].value_counts().reindex(expected.index, fill_value=0) - expected).abs().max() <= 2


def test_extra_test_molecules_are_deterministic_by_seed():
    meta = fake_meta()
    a = make_split(meta, 1000, 0.2, 0.1, seed=7, test_size=700)
    pd.testing.assert_frame_equal(a, make_split(meta, 1000, 0.2, 0.1, seed=7, test_size=700))
    assert set(a["gdb_id"]) != set(make_split(meta, 1000, 0.2, 0.1, seed=8, test_size=700)["gdb_id"])


def test_a_test_size_that_does_not_fit_names_the_setting():
    meta = fake_meta()
    # 2000 molecules outside the pool of 1000, 200 test molecules in it: at most 2200
    make_split(meta, 1000, 0.2, 0.1, seed=7, test_size=2200)
    with pytest.raises(ConfigError, match=r"^config: scales.quick.test_size = 2201 needs 2001 test molecules "
                                          r"from outside the pool, but only 2000 .* lower it to at most 2200"):
        make_split(meta, 1000, 0.2, 0.1, seed=7, test_size=2201, scale="quick")
    with pytest.raises(ConfigError, match=r"scales.quick.test_size = 150 is smaller than the pool's own test part "
                                          r"\(200 molecules"):
        make_split(meta, 1000, 0.2, 0.1, seed=7, test_size=150, scale="quick")


def test_quick_test_set_holds_enough_molecules_of_every_frequent_stratum():
    """On all of QM9 with the shipped quick settings: the floors the strata are judged with."""
    from workflow_scripts.data.metadata import element_counts
    from workflow_scripts.data.qm9_qm9pack import read_qm9pack

    records = read_qm9pack()
    meta = pd.DataFrame({"gdb_id": records.gdb_id, "n_atoms": records.n_atoms, **element_counts(records)})
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    quick, split = config["scales"]["quick"], config["split"]
    settings = (meta, quick["pool_size"], split["test_fraction"], split["validation_fraction"], split["seed"])
    table, pool_only = make_split(*settings, test_size=quick["test_size"]), make_split(*settings)
    pd.testing.assert_frame_equal(table[table[IN_POOL]], pool_only)  # the study's training molecules stay
    assert (table["split"] == "test").sum() == quick["test_size"] >= 10 * (pool_only["split"] == "test").sum()
    shares = meta["n_atoms"].value_counts(normalize=True)
    frequent = shares[shares > config["analysis"]["frequent_bin_fraction"]].index
    assert sorted(frequent) == [*range(12, 24), 25]
    counts = held_out_counts(table)
    assert min(counts["by_size"][size] for size in frequent) >= 100, counts["by_size"]
    assert min(counts["by_element"].values()) >= 100 and counts["by_element"]["F"] >= 150, counts["by_element"]


def test_extra_test_molecules_train_the_same_model(tmp_path):
    """The pool keeps its rows of the packed store: a training reads the same molecules, bit for bit the same model."""
    import torch

    from tests.unit.tiny_training import FITTED
    from workflow_scripts.data.metadata import read_metadata, write_metadata
    from workflow_scripts.data.qm9_qm9pack import read_qm9pack
    from workflow_scripts.training import linear_reference
    from workflow_scripts.training.loop import train
    from workflow_scripts.training.packed_data import build_store
    from workflow_scripts.training.weights import loss_weights

    write_metadata(read_qm9pack(max_molecules=2000), tmp_path / "qm9.parquet")
    meta = read_metadata(tmp_path / "qm9.parquet")
    energies = meta[["gdb_id", "U0"]]
    weights = {}
    for name, test_size in (("pool", None), ("grown", 400)):
        split = make_split(meta, 200, 0.2, 0.2, seed=0, test_size=test_size)
        build_store(tmp_path / "qm9.parquet", split["gdb_id"], tmp_path / f"{name}.npz")
        idx = {s: np.flatnonzero(split["split"].to_numpy() == s) for s in ("train", "val", "test")}
        sizes = split["n_atoms"].to_numpy()
        reference = linear_reference.fit(split.iloc[idx["train"]].merge(energies, on="gdb_id"), intercept=False)
        train(tmp_path / f"{name}.npz", idx, loss_weights("inverse_frequency", sizes, sizes[idx["train"]], 0, 1.0),
              FITTED, 0, tmp_path / name, atomref=linear_reference.atom_energies_by_number(reference),
              progress_bar=False)
        weights[name] = torch.load(tmp_path / name / "model.pt", weights_only=True)["state_dict"]
    assert weights["pool"].keys() == weights["grown"].keys()
    assert all(torch.equal(weights["pool"][key], weights["grown"][key]) for key in weights["pool"])


def qm9_like_meta(seed=0):
    """As many molecules of each size as QM9 (synthetic_study.QM9_SIZES), about 2 % with fluorine."""
    from tests.unit.synthetic_study import QM9_SIZES

    rng = np.random.default_rng(seed)
    sizes = np.repeat(list(QM9_SIZES), list(QM9_SIZES.values()))
    frame = pd.DataFrame({"gdb_id": np.arange(1, len(sizes) + 1), "n_atoms": rng.permutation(sizes)})
    for e in "HCNO":
        frame[f"n_{e}"] = 1
    frame["n_F"] = (rng.random(len(frame)) < 0.02).astype(int)
    return frame


CONTROLS = {"full": {}, "T2000": {"cap_per_size": 2000}, "T6000": {"cap_per_size": 6000},
            "T2000_random": {"same_size_as": "T2000"}, "T6000_random": {"same_size_as": "T6000"},
            "fraction_25": {"fraction": 0.25}, "fraction_50": {"fraction": 0.5}}


def size_shares(frame):
    return frame["n_atoms"].value_counts(normalize=True)


@pytest.mark.parametrize("pool_size", [400, 4000], ids=["tiny", "quick"])
def test_a_random_control_holds_as_many_molecules_as_its_cap_at_every_scale(pool_size):
    """Caps shrink with the pool (cap_for_pool, rounded), so the control matches the cap's drawn size, not a formula."""
    meta = qm9_like_meta()
    split = make_split(meta, pool_size, 0.2, 0.1, seed=2024)
    drawn = draw_all(split, CONTROLS, seed=2024, all_molecules=len(meta))
    train = split[split["split"] == "train"]
    for cap in ("T2000", "T6000"):
        control = drawn[f"{cap}_random"]
        assert len(control) == len(drawn[cap]) < len(train)
        assert set(control["gdb_id"]) <= set(train["gdb_id"]) and control["gdb_id"].is_unique
        assert set(control["gdb_id"]) != set(drawn[cap]["gdb_id"])  # its own draw, not the cap's molecules
    assert [len(drawn[f"fraction_{p}"]) for p in (25, 50)] == [round(0.25 * len(train)), round(0.5 * len(train))]
    # the subset rule draws one subset at a time, given the molecules of the one it matches: the same molecules
    alone, cap = draw(split, CONTROLS["T2000_random"], 2024, len(meta), same_size=len(drawn["T2000"]))
    assert cap is None and alone.equals(drawn["T2000_random"])
    # deterministic: the same split and seed draw the same molecules
    again = draw_all(split, CONTROLS, seed=2024, all_molecules=len(meta))
    assert all(again[name].equals(drawn[name]) for name in CONTROLS)
    # random subsets have no size range: they validate on the whole validation set
    assert len(validation_for(split, CONTROLS["T2000_random"])) == (split["split"] == "val").sum()


def test_a_random_control_is_not_balanced():
    """The control's sizes follow the training set's (QM9's, skewed); the cap's are flattened."""
    meta = qm9_like_meta()
    split = make_split(meta, 20000, 0.2, 0.1, seed=2024)
    drawn = draw_all(split, CONTROLS, seed=2024, all_molecules=len(meta))
    train = size_shares(split[split["split"] == "train"])

    def distance(frame):  # total variation distance from the training set's size distribution
        return 0.5 * size_shares(frame).reindex(train.index, fill_value=0).sub(train).abs().sum()

    assert distance(drawn["T2000_random"]) < 0.05 < 0.2 < distance(drawn["T2000"])
    assert distance(drawn["fraction_25"]) < 0.05


def test_random_subsets_of_one_split_are_nested():
    """One seeded order of the training set: a smaller random subset lies within a larger one."""
    split = make_split(qm9_like_meta(), 4000, 0.2, 0.1, seed=2024)
    drawn = draw_all(split, CONTROLS, seed=2024, all_molecules=130764)
    ids = {name: set(frame["gdb_id"]) for name, frame in drawn.items()}
    assert ids["fraction_25"] < ids["fraction_50"] < ids["full"]
    assert ids["T2000_random"] < ids["T6000_random"]
    # and another seed draws others
    other = draw_all(split, CONTROLS, seed=7, all_molecules=130764)
    assert set(other["fraction_25"]["gdb_id"]) != ids["fraction_25"]


def test_random_size_and_draw_by_hand():
    split = pd.DataFrame({"gdb_id": range(1, 11), "n_atoms": [5] * 10, "split": ["train"] * 8 + ["val", "test"]})
    assert random_size({"fraction": 0.25}, 8) == 2 and random_size({"same_size_as": "T"}, 8, same_size=5) == 5
    with pytest.raises(ValueError, match="needs the size of the subset it matches"):
        random_size({"same_size_as": "T"}, 8)
    assert len(select_random(split, 8, seed=0)) == 8
    with pytest.raises(SubsetError, match="9 molecules cannot be drawn from 8 training molecules"):
        select_random(split, 9, seed=0)
