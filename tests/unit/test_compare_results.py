"""Two results folders compared: exact where molecules are chosen, within a tolerance where networks compute."""

import shutil

import pandas as pd

from workflow_scripts.files.compare_results import compare_results, main


def results(root):
    (root / "splits").mkdir(parents=True)
    (root / "subsets").mkdir()
    run = root / "experiments/baseline/seed0"
    run.mkdir(parents=True)
    pd.DataFrame({"gdb_id": [1, 2, 3], "split": ["train", "val", "test"]}).to_parquet(root / "splits/split.parquet")
    pd.DataFrame({"gdb_id": [1]}).to_parquet(root / "subsets/full.parquet")
    pd.DataFrame({"group": ["all", "9"], "count": [3, 1], "mae_meV": [120.0, 0.0], "train_seconds": [5.0, 5.0]}
                 ).to_csv(run / "metrics_overall.csv", index=False)
    return root


def outcome_of(before, after):
    return dict(compare_results(before, after))


def test_a_copy_is_the_same_and_main_says_so(tmp_path, capsys):
    before = results(tmp_path / "before")
    shutil.copytree(before, tmp_path / "after")
    outcome = outcome_of(before, tmp_path / "after")
    assert outcome == {"splits/split.parquet": "identical", "subsets/full.parquet": "identical",
                       "experiments/baseline/seed0/metrics_overall.csv": "same within 1e-06"}
    assert main([str(before), str(tmp_path / "after")]) == 0
    assert "3 files: 2 byte-identical, 1 within tolerance, 0 differ or missing" in capsys.readouterr().out


def test_rounding_passes_a_real_change_does_not(tmp_path):
    before = results(tmp_path / "before")
    after = tmp_path / "after"
    shutil.copytree(before, after)
    metrics = after / "experiments/baseline/seed0/metrics_overall.csv"
    # another wall time is no difference; a number within rounding neither
    pd.DataFrame({"group": ["all", "9"], "count": [3, 1], "mae_meV": [120.00001, 0.0], "train_seconds": [9.0, 9.0]}
                 ).to_csv(metrics, index=False)
    assert outcome_of(before, after)[metrics.relative_to(after).as_posix()] == "same within 1e-06"
    pd.DataFrame({"group": ["all", "9"], "count": [3, 1], "mae_meV": [120.1, 0.0], "train_seconds": [5.0, 5.0]}).to_csv(metrics, index=False)
    assert outcome_of(before, after)[metrics.relative_to(after).as_posix()].startswith("column mae_meV: 1 values")
    # a zero must stay a zero: no absolute tolerance
    pd.DataFrame({"group": ["all", "9"], "count": [3, 1], "mae_meV": [120.0, 1e-12], "train_seconds": [5.0, 5.0]}).to_csv(metrics, index=False)
    assert outcome_of(before, after)[metrics.relative_to(after).as_posix()].startswith("column mae_meV")


def test_another_split_or_a_missing_run_is_reported(tmp_path, capsys):
    before = results(tmp_path / "before")
    after = tmp_path / "after"
    shutil.copytree(before, after)
    pd.DataFrame({"gdb_id": [1, 3, 2], "split": ["train", "val", "test"]}).to_parquet(after / "splits/split.parquet")
    (after / "experiments/baseline/seed0/metrics_overall.csv").unlink()
    outcome = outcome_of(before, after)
    assert outcome["splits/split.parquet"] == "bytes differ"
    assert outcome["experiments/baseline/seed0/metrics_overall.csv"].startswith("missing in")
    assert main([str(before), str(after)]) == 1
    assert "2 differ or missing" in capsys.readouterr().out


def test_whole_results_folders_compare_every_study_in_them_and_empty_ones_fail(tmp_path, capsys):
    for side in ("before", "after"):
        results(tmp_path / side / "results" / "quick")
        results(tmp_path / side / "results" / "cross_study-quick" / "gap-schnet")
    outcome = outcome_of(tmp_path / "before/results", tmp_path / "after/results")
    assert len(outcome) == 6 and outcome["quick/splits/split.parquet"] == "identical"
    assert outcome["cross_study-quick/gap-schnet/experiments/baseline/seed0/metrics_overall.csv"] == "same within 1e-06"
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty"), str(tmp_path / "empty")]) == 1
    assert "give two results folders" in capsys.readouterr().err
