"""The whole study DAG with the real Snakefile at the tiny scale, and what re-runs when."""

import copy
import html
import json
import re
import shutil
import time

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from snakemake.utils import update_config

from tests.conftest import REPO, planned_jobs, run_snakemake, tiny_config
from workflow_scripts.config.experiments import expand_experiments
from workflow_scripts.figures import catalogue

pytestmark = pytest.mark.workflow

TINY = tiny_config()
RUN_FILES = ["predictions.parquet", "metrics_by_size.csv", "metrics_by_element.csv", "metrics_overall.csv",
             "train_log.csv", "val_log.csv", "model.pt", "timing.json"]
METRIC_COLUMNS = ["group", "count", "mae_meV", "rmse_meV", "mse_eV2", "mae_ci_low_meV", "mae_ci_high_meV"]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("study")
    start = time.perf_counter()
    run_snakemake(workdir, TINY, "--cores", "2")
    print(f"tiny study: {time.perf_counter() - start:.0f} s")
    return workdir


def test_every_run_has_its_outputs(study):
    for experiment in TINY["only_experiments"]:
        run = study / "results/tiny/experiments" / experiment / "seed0"
        for name in RUN_FILES:
            assert (run / name).exists(), run / name
    pred = pd.read_parquet(study / "results/tiny/experiments/baseline/seed0/predictions.parquet")
    assert list(pred.columns) == ["gdb_id", "n_atoms", "n_H", "n_C", "n_N", "n_O", "n_F", "U0_true_eV", "U0_pred_eV"]
    split = pd.read_parquet(study / "results/tiny/splits/split.parquet")
    assert sorted(pred["gdb_id"]) == sorted(split.loc[split["split"] == "test", "gdb_id"])
    for kind in ("by_size", "by_element", "overall"):
        metrics = pd.read_csv(study / f"results/tiny/experiments/custom/seed0/metrics_{kind}.csv")
        assert list(metrics.columns[: len(METRIC_COLUMNS)]) == METRIC_COLUMNS
    overall = pd.read_csv(study / "results/tiny/experiments/linear_reference/seed0/metrics_overall.csv")
    assert overall.loc[overall["group"] == "all", "count"].item() == len(pred)


def test_every_experiment_shares_the_held_out_test_set(study):
    ids = {
        e: tuple(pd.read_parquet(study / f"results/tiny/experiments/{e}/seed0/predictions.parquet")["gdb_id"])
        for e in TINY["only_experiments"]
    }
    assert len(set(ids.values())) == 1


def test_tables_figures_and_report(study):
    tables = study / "results/tiny/tables"
    by_size = pd.read_csv(tables / "metrics_by_size.csv")
    assert set(by_size["experiment"]) == {*TINY["only_experiments"], "linear_reference"}
    verdicts = pd.read_csv(tables / "hypothesis_verdicts.csv")
    assert set(verdicts["hypothesis"]) == {"H1", "H2", "H3", "H4"}
    assert set(verdicts["verdict"]) <= {"supported", "contradicted", "inconclusive"}
    # the tiny scale keeps one seed: no verdict can tell seed-to-seed variation from an effect
    assert set(verdicts["verdict"]) == {"inconclusive"} and "fewer than 2 seeds" in verdicts["explanation"].iloc[0]
    runs = pd.read_csv(tables / "training_runs.csv")
    assert set(runs["experiment"]) == set(TINY["only_experiments"])
    assert set(runs[runs["experiment"] != "custom_thesis_budget"]["budget_rule"]) == {"equal_steps"}
    assert runs["converged"].dtype == bool
    assert set(runs["status"]) <= {"converged", "not_converged", "diverged", "collapsed"}
    assert (runs["converged"] == (runs["status"] == "converged")).all() and runs["used_by"].notna().all()
    table2 = pd.read_csv(tables / "table2_final_comparison.csv")
    assert len(table2) == 3 and list(table2.columns[:3]) == ["model", "test MSE (eV²)",
                                                               "train + validation time (h:mm:ss)"]
    # Custom under the thesis's rule: its epochs over its own subset, fewer steps than under equal_steps
    budgets = runs.set_index("experiment")
    assert budgets.loc["custom_thesis_budget", "budget_rule"] == "epochs"
    assert budgets.loc["custom_thesis_budget", "steps"] < budgets.loc["custom", "steps"]
    assert table2["budget rule"].tolist() == ["equal_steps", "equal_steps", "epochs"]
    # the cap's control holds as many molecules as the cap at this scale, drawn without balancing
    subsets = {name: pd.read_parquet(study / f"results/tiny/subsets/{name}.parquet")
               for name in ("full", "T2000", "T2000_random", "fraction_50")}
    assert len(subsets["T2000_random"]) == len(subsets["T2000"]) >= 32  # one tiny batch at least
    assert set(subsets["T2000_random"]["gdb_id"]) != set(subsets["T2000"]["gdb_id"])
    assert len(subsets["fraction_50"]) == round(0.5 * len(subsets["full"]))
    curve = pd.read_csv(tables / "learning_curve.csv")
    whole = curve[curve["group"] == "all"].set_index("experiment")
    assert set(whole.index) == {"baseline", "learning_curve-fraction_50", "balanced-T2000",
                                "balanced_control-T2000_random"}
    assert whole["n_train"].to_dict() == {"baseline": len(subsets["full"]), "balanced-T2000": len(subsets["T2000"]),
                                          "balanced_control-T2000_random": len(subsets["T2000"]),
                                          "learning_curve-fraction_50": len(subsets["fraction_50"])}
    steps = runs.set_index("experiment")["steps"]
    assert steps["balanced_control-T2000_random"] >= steps["baseline"]  # the baseline's steps (equal_steps)
    values = pd.read_csv(study / f"results/tiny/figures/{catalogue.LEARNING_CURVE_FIGURE}.csv")
    drawn = values[values["group"] == "all"].set_index("experiment")["mae_meV"]
    assert drawn.to_dict() == whole["mae_meV"].to_dict()
    figures = sorted(p.name for p in (study / "results/tiny/figures").glob("*.png"))
    for expected in ["fig03_baseline_error_by_size.png", "fig04_baseline_error_by_element.png",
                     "fig05_subset_histogram.png", "fig06_balanced_error_by_size.png", "fig09_targeted_error_by_size.png",
                     "fig10_final_error_by_size.png", "figA2_weight_factors.png"]:
        assert expected in figures
    report = (study / "results/tiny/report/report.html").read_text()
    assert report.count("data:image/png;base64,") >= 12 and "missing:" not in report
    assert "H4" in report and "Table 2" in report


def report_variable(page: str, name: str):
    """A JSON variable of Snakemake's report page (``var results = {...}``)."""
    start = page.index(f"var {name} = {{") + len(f"var {name} = ")
    return json.JSONDecoder().raw_decode(page[start:])[0]


def test_snakemakes_report_holds_every_figure_with_its_caption(study):
    """snakemake --report: every figure of the catalogue and every result table, captioned, in its section."""
    start = time.perf_counter()
    run_snakemake(study, TINY, "--report", "snakemake_report.html")
    print(f"snakemake --report: {time.perf_counter() - start:.0f} s")
    page = (study / "snakemake_report.html").read_text()
    results, categories = report_variable(page, "results"), report_variable(page, "categories")
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    update_config(config, copy.deepcopy(TINY))  # as Snakemake merges --configfile over config.yaml
    figures = catalogue.figures({e["name"]: e for e in expand_experiments(config)}, config)
    tables = {"verdicts": "hypothesis_verdicts", "table2": "table2_final_comparison", "training_runs": "training_runs",
              "by_size": "metrics_by_size", "by_element": "metrics_by_element", "overall": "metrics_overall",
              "learning_curve": "learning_curve"}
    def under_results(figure):  # QM9's own figures are shared by every study; the rest lie in the study's folder
        return f"results/{figure.path}" if figure.kind == "dataset" else f"results/tiny/{figure.path}"

    expected = {under_results(f): (f.caption, f.category) for f in figures.values()}
    expected |= {f"results/tiny/tables/{file}.csv": (catalogue.TABLES[key].caption, catalogue.TABLES[key].category)
                 for key, file in tables.items()}
    expected["results/analysis/element_frequency.csv"] = (catalogue.TABLES["element_frequency"].caption,
                                                          catalogue.TABLES["element_frequency"].category)
    assert len(figures) == 20 and set(results) == set(expected)  # 2 learning-curve figures per final run (3)
    for path, (caption, category) in expected.items():
        assert html.unescape(re.sub(r"<[^>]+>", "", results[path]["caption"])).strip() == caption, path
        assert any(path in listed for listed in categories[category].values()), path
    assert all(results[under_results(f)]["mime_type"] == "image/png" for f in figures.values())
    assert categories["7. Final comparison"]["Learning curves"] == sorted(
        under_results(f) for f in figures.values() if f.kind == "learning_curves")
    assert "This run: scale <strong>tiny</strong>" in page  # the workflow's description, rendered with its config


def test_second_run_has_nothing_to_do(study):
    assert planned_jobs(run_snakemake(study, TINY, "-n")) == {}


def test_changing_one_experiment_reruns_only_it(study):
    overlay = {**TINY, "experiments": {"custom": {"part": "final", "training": {"lr": 3.0e-4}}}}
    jobs = planned_jobs(run_snakemake(study, overlay, "-n"))
    assert jobs.pop("train") == 1 and jobs.pop("stratum_metrics") == 1
    assert set(jobs) <= {"figure_error_by_size", "figure_learning_curves", "study_tables", "figure_overview",
                         "report", "all"}
    assert jobs["figure_error_by_size"] == 1  # Figure 10 only


def test_adding_an_experiment_runs_just_it(study):
    overlay = {**TINY, "only_experiments": [*TINY["only_experiments"], "hp_lr-0.0001"]}
    jobs = planned_jobs(run_snakemake(study, overlay, "-n"))
    assert jobs["train"] == 1 and jobs["stratum_metrics"] == 1


def test_changing_the_split_reruns_everything_downstream(study):
    jobs = planned_jobs(run_snakemake(study, {**TINY, "split": {"seed": 7}}, "-n"))
    assert jobs["split"] == 1 and jobs["packed_store"] == 1
    # every training again, but hp_lr-0.001, which reuses the baseline's
    assert jobs["train"] == len(TINY["only_experiments"]) - 1 and jobs["reuse_training"] == 1
    assert jobs["linear_reference"] == 1


def test_an_empty_subset_stops_before_training(study, tmp_path):
    overlay = {**TINY, "subsets": {"largest_only": {"min_atoms": 29}},
               "experiments": {"rare": {"part": "extra", "subset": "largest_only"}},
               "only_experiments": ["baseline", "rare"]}
    result = run_snakemake(tmp_path, overlay, "--cores", "2", check=False)
    assert result.returncode != 0
    assert "config: subsets.largest_only selects no training molecule" in result.stderr
    assert not list((tmp_path / "results/tiny/experiments").glob("*/seed0/model.pt"))


def test_thesis_scale_dry_run_lists_every_job(tmp_path):
    start = time.perf_counter()
    jobs = planned_jobs(run_snakemake(tmp_path, {"scale": "thesis"}, "-n"))
    assert time.perf_counter() - start < 60
    # 43 experiments; baseline, the 4 balancing arms, their 3 random controls, targeted and the placebo with 3
    # seeds each; 6 sweep points are the baseline's training (seed 0) and reuse it
    assert jobs["train"] == 57 and jobs["reuse_training"] == 6
    assert jobs["stratum_metrics"] == 64  # every run and the linear reference


def test_a_study_at_another_scale_leaves_this_one_alone(study):
    """Each study has its folder (results/<scale>[-<target>][-<representation>]): a second scale plans its own split,
    trainings and report there, shares QM9's table and analysis, and leaves the tiny study complete."""
    dry = run_snakemake(study, {**TINY, "scale": "quick"}, "-n")
    jobs = planned_jobs(dry)
    assert jobs["split"] == 1 and jobs["report"] == 1
    assert jobs["train"] + jobs.get("reuse_training", 0) >= len(TINY["only_experiments"])  # quick: more seeds
    assert "qm9_metadata" not in jobs and "dataset_counts" not in jobs  # QM9's own files serve every study
    assert "results/quick/report/report.html" in dry.stdout and "results/tiny/" not in dry.stdout
    assert planned_jobs(run_snakemake(study, TINY, "-n")) == {}


def test_identical_trainings_run_once(study):
    """hp_lr-0.001 has the baseline's settings and seed: it reuses the baseline's training, visibly."""
    dry = run_snakemake(study, TINY, "-n", "--forceall")
    jobs = planned_jobs(dry)
    assert jobs["reuse_training"] == 1 and jobs["train"] == len(TINY["only_experiments"]) - 1
    assert "reused_run=hp_lr-0.001/seed0" in dry.stdout + dry.stderr
    reused, source = (study / f"results/tiny/experiments/{name}/seed0" for name in ("hp_lr-0.001", "baseline"))
    assert (reused / "predictions.parquet").read_bytes() == (source / "predictions.parquet").read_bytes()
    assert json.loads((reused / "timing.json").read_text())["reused_from"] == "baseline/seed0"
    assert not (reused / "checkpoints").exists()  # never trained


# The placebo: arms with the baseline's settings and other seeds, judged by H3 and H4 as if they were a balanced
# and a targeted experiment; beside them an arm with a planted effect (the baseline's settings on 15 % of the
# training molecules), which the same statistics must find, so that this test can fail. The quick scale's recipe
# (fitted energy reference, warm-up and cosine decay, weight averaging), the thesis's 22 epochs and a quarter of
# its width, so the tiny models learn something (about 500 meV, against about 900 on 15 %); three seeds each.
PLACEBO = tiny_config(
    "baseline", "balanced_placebo", "targeted_placebo", "targeted_planted",
    scales={"tiny": {"max_seeds": 3, "epochs_factor": 1.0, "width_factor": 0.25, "lr_factor": 30.0, "defaults": {
        "model": {"energy_reference": "fitted"},
        "training": {"scheduler": {"kind": "cosine", "warmup_fraction": 0.1, "final_lr_fraction": 0.02},
                     "ema_decay": 0.99}}}},
    subsets={"few": {"fraction": 0.15}},
    experiments={
        "baseline": {"part": "baseline", "seeds": [0, 1, 2]},
        "balanced_placebo": {"part": "balancing", "seeds": [10, 11, 12]},
        "targeted_placebo": {"part": "targeted", "seeds": [20, 21, 22]},
        "targeted_planted": {"part": "targeted", "seeds": [30, 31, 32], "subset": "few"},
    },
)


def test_placebo_arms_show_no_effect_and_a_planted_effect_is_found(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("placebo")
    run_snakemake(workdir, PLACEBO, "--cores", "2", "results/tiny/tables/hypothesis_verdicts.csv")
    verdicts = pd.read_csv(workdir / "results/tiny/tables/hypothesis_verdicts.csv").set_index("comparison")
    h3, h4 = verdicts.loc["balanced_placebo vs baseline"], verdicts.loc["targeted_placebo vs baseline"]
    assert (h3["hypothesis"], h4["hypothesis"]) == ("H3", "H4")
    for row in (h3, h4):
        assert row["n_seeds"] == 3
        assert row["ci_low"] <= 0 <= row["ci_high"], row["explanation"]  # no effect
        assert row["verdict"] != "contradicted"
    assert h3["verdict"] == "inconclusive"  # "balancing equalizes the errors" is not claimed
    # H4's claim is "not worse": a placebo may meet it, but only as "not worse", never as a difference
    assert h4["verdict"] in ("inconclusive", "supported")
    # the planted arm is found worse, above 17 atoms and below, where the placebo's intervals hold 0
    planted = verdicts.loc["targeted_planted vs baseline"]
    assert planted["ci_low"] > 0 and planted["secondary_ci_low"] > 0, planted["explanation"]
    assert planted["verdict"] != "supported"  # never called "not worse"
    predictions = [pd.read_parquet(workdir / f"results/tiny/experiments/{name}/seed{seed}/predictions.parquet")
                   for name, seed in (("baseline", 0), ("balanced_placebo", 10))]
    assert not np.allclose(predictions[0]["U0_pred_eV"], predictions[1]["U0_pred_eV"])  # other seeds, other models


def test_a_subset_smaller_than_a_batch_stops_that_job_before_it_trains(study, tmp_path):
    overlay = {**TINY, "experiments": {"wide_batch": {"part": "extra", "subset": "T2000",
                                                      "training": {"batch_size": 65536}}},
               "only_experiments": ["baseline", "wide_batch"]}
    result = run_snakemake(study, overlay, "--cores", "2", "results/tiny/experiments/wide_batch/seed0/predictions.parquet",
                           check=False)
    assert result.returncode != 0
    assert "subsets.T2000 holds" in result.stderr and "fewer than one batch of experiment wide_batch" in result.stderr
    assert not (study / "results/tiny/experiments/wide_batch/seed0/model.pt").exists()
    # the reason is in the job's own log too (on a cluster, the file a user opens)
    assert "fewer than one batch of experiment wide_batch" in (study / "results/tiny/experiments/wide_batch/seed0/train.log").read_text()


def most_trainings_at_once(text: str) -> int:
    """The most train jobs running at the same time, from Snakemake's job start and finish lines."""
    running, most, in_train = set(), 0, False
    for line in text.splitlines():
        if line.startswith(("rule ", "localrule ")):
            in_train = line.split()[1] == "train:"
        elif in_train and line.strip().startswith("jobid:"):
            running.add(line.split(":")[1].strip())
            most = max(most, len(running))
            in_train = False
        elif line.startswith("Finished jobid:"):
            running.discard(line.split()[2])
    return most


PARALLEL = ["hp_lr-0.0001", "hp_lr-0.0005"]


@pytest.fixture(scope="module")
def local_profile_runs(study, tmp_path_factory):
    """Two trainings through profiles/local on 4 cores: as if with one GPU, with two, and without one."""
    overlay = {**TINY, "only_experiments": [*TINY["only_experiments"], *PARALLEL]}
    targets = [f"results/tiny/experiments/{n}/seed0/predictions.parquet" for n in PARALLEL]
    runs = {}
    for gpus in ("0", "", "0,1"):
        workdir = tmp_path_factory.mktemp(f"local_profile_gpus{gpus or 'none'}")
        shutil.copytree(study, workdir, symlinks=True, dirs_exist_ok=True)
        # CUDA_VISIBLE_DEVICES is what Snakemake's machine sees (workflow_scripts/training/devices.py); torch
        # finds no CUDA driver here either way and trains on the CPU
        result = run_snakemake(workdir, overlay, "--profile", str(REPO / "profiles/local"), "--cores", "4",
                               *targets, env={"CUDA_VISIBLE_DEVICES": gpus,
                                              "QM9_STUDY_GPU_LOCKS": str(workdir / "gpu_locks")})
        runs[gpus] = (workdir, result.stdout + result.stderr)
    return runs


@pytest.mark.parametrize(("gpus", "expected"), [("0", 1), ("", 2), ("0,1", 2)],
                         ids=["one GPU", "no GPU", "two GPUs"])
def test_local_profile_runs_one_training_per_gpu(local_profile_runs, gpus, expected):
    """profiles/local: one training per GPU at a time, each on a GPU of its own; without a GPU, they share the cores."""
    workdir, text = local_profile_runs[gpus]
    assert f"gpu={1 if gpus else 0}" in text
    assert most_trainings_at_once(text) == expected
    claimed = [re.findall(r"training on GPU (\d+)", (workdir / f"results/tiny/experiments/{n}/seed0/train.log").read_text())
               for n in PARALLEL]
    if gpus == "0,1":
        assert sorted(c[0] for c in claimed) == ["0", "1"]  # two at once: each its own GPU
    elif gpus == "0":
        assert claimed == [["0"], ["0"]]  # one at a time on the one GPU
    else:
        assert claimed == [[], []]


def test_parallel_trainings_keep_to_their_own_folders(study, local_profile_runs):
    """Two trainings at once: each its own checkpoints, logs and outputs; the packed pool built once, read by both."""
    workdir, text = local_profile_runs[""]
    assert most_trainings_at_once(text) == 2
    assert "packed_store" not in text  # built once by the study before, not again
    store = "results/tiny/data/pool.npz"
    assert (workdir / store).read_bytes() == (study / store).read_bytes()
    fingerprints = set()
    for name in PARALLEL:
        run = workdir / f"results/tiny/experiments/{name}/seed0"
        assert f"training {name} seed 0" in (run / "train.log").read_text()
        assert (run / "checkpoints/last.ckpt").exists() and (run / "checkpoints/best.ckpt").exists()
        fingerprints.add((run / "checkpoints/fingerprint.txt").read_text())
        model = torch.load(run / "model.pt", weights_only=True)
        assert json.loads(model["settings_json"])["name"] == name
        assert json.loads((run / "timing.json").read_text())["n_train"] > 0
    assert len(fingerprints) == 2
