"""The study's page (report/sections.py) is written from the files rule report names; the catalogue places figures."""

import re

import pandas as pd
import pytest

from tests.conftest import REPO
from tests.unit.synthetic_study import (LEARNING_CURVE_ARMS, LEARNING_CURVE_SUBSETS, learning_curve_metrics,
                                        learning_curve_runs, synthetic_by_element, synthetic_by_size,
                                        synthetic_overall)
from workflow_scripts.evaluation.learning_curve import learning_curve
from workflow_scripts.evaluation.study_tables import table2
from workflow_scripts.config.validation import load_yaml
from workflow_scripts.figures import catalogue
from workflow_scripts.figures.style import close, figure
from workflow_scripts.report.settings import thesis_settings
from workflow_scripts.report.sections import (TABLE_INPUTS, THESIS_TITLE, _convergence_text, build,
                                              place_figures)

THESIS_SETTINGS = thesis_settings(load_yaml(REPO / "config.yaml")["defaults"], 0.2)
FINAL = [("baseline", "Default"), ("cap_2000", "Custom"), ("cap_4000", "Custom (thesis budget)")]
RULE = {"final_fraction": 0.25, "max_improvement": 0.05, "min_lr_fraction": 0.1}
EXPERIMENTS = {"baseline": {"part": "baseline"}, "cap_2000": {"part": "balancing"}, "cap_4000": {"part": "balancing"}}
VERDICT = {"comparison": "baseline", "control": False, "statistic": "s", "value": 0.1, "ci_low": -0.1,
           "ci_high": 0.3, "bound": 0, "seeds": "baseline 2", "verdict": "inconclusive", "secondary_statistic": "",
           "secondary_value": 0, "secondary_ci_low": 0, "secondary_ci_high": 0, "statement": "claim",
           "explanation": "why", "placebo_passes": True, "method": "least squares", "p_adjusted": float("nan"),
           "unreliable_runs": "cap_2000 seed 1 (diverged)", "failed_runs": "cap_2000 seed 1 (diverged)"}


def _png(path):
    fig, ax = figure({"dpi": 30, "font_size": 8, "width_in": 2.0, "height_in": 1.5})
    ax.plot([0, 1], [0, 1])
    fig.savefig(path)
    close(fig)
    return path


def _runs(rows) -> pd.DataFrame:
    """A training_runs table: the given columns, the rest as for a settled run."""
    settled = {"budget_rule": "equal_steps", "n_train": 100, "steps": 10, "epochs_run": 2, "train_seconds": 5.0,
               "best_val_mae_meV": 40.0, "max_val_mae_after_best_meV": 41.0, "final_improvement": 0.01,
               "test_mae_meV": 180.0, "test_mae_vs_linear_reference": 0.2, "used_by": "H1-H4", "reused_from": ""}
    frame = pd.DataFrame([{**settled, **row} for row in rows])
    return frame.assign(converged=frame["status"] == "converged")


def _inputs(folder):
    """Every table the page reads, under names and folders unlike the workflow's: only these paths can be read."""
    folder.mkdir()
    frames = {
        "element_frequency": pd.DataFrame({"element": ["H", "F"], "molecules": [130000, 3314]}),
        "by_size": synthetic_by_size(), "by_element": synthetic_by_element(), "overall": synthetic_overall(),
        # Table 2 as the workflow writes it (all its columns: the page must fit them on a narrow screen too)
        "table2": table2(synthetic_overall(), FINAL, _runs([{"experiment": e, "seed": 0, "status": "converged"}
                                                            for e, _ in FINAL])),
        "training_runs": _runs([{"experiment": "baseline", "seed": 0, "status": "converged"}]),
        "verdicts": pd.DataFrame([{"hypothesis": h, **VERDICT} for h in ("H1", "H2", "H3", "H4")]),
        "learning_curve": learning_curve(learning_curve_metrics(synthetic_overall()),
                                         learning_curve_metrics(synthetic_by_size()), learning_curve_runs(),
                                         LEARNING_CURVE_ARMS, LEARNING_CURVE_SUBSETS),
    }
    paths = {}
    for i, (name, frame) in enumerate(frames.items()):
        paths[name] = folder / f"input{i}.csv"
        frame.to_csv(paths[name], index=False)
    return paths


def test_page_reads_only_its_declared_inputs(tmp_path, monkeypatch):
    tables = _inputs(tmp_path / "elsewhere")
    figures = [(_png(tmp_path / "a.png"), "Figure 3: per size.", catalogue.BASELINE),
               (_png(tmp_path / "b.png"), "Figure 1: sizes.", catalogue.DATA),
               (_png(tmp_path / "c.png"), "Figure 4: per element.", catalogue.BASELINE)]
    monkeypatch.chdir(tmp_path / "elsewhere")  # nothing to find beside the inputs either
    out = tmp_path / "page" / "report.html"
    build(out, figures, tables, "tiny", {"pool_size": 400}, EXPERIMENTS, [("baseline", "Default")], "equal_steps", 2,
          RULE, THESIS_SETTINGS)
    page = out.read_text().replace("&#8203;", "")  # the invisible break points in long names
    assert set(TABLE_INPUTS) == set(tables)
    assert page.count("data:image/png;base64,") == 3 and "missing:" not in page
    sections = re.findall(r"<h2>(.*?)</h2>", page)
    # the thesis beside this run first, then the catalogue's sections in its order
    assert sections[0] == THESIS_TITLE and len(sections) == len(catalogue.SECTIONS) + 1 and sections[1] == "Summary"
    data, baseline = (page.split(f"<h2>{title}</h2>")[1].split("<h2>")[0]
                      for title in ("Data (thesis &#167;3.2.1)", catalogue.BASELINE))
    assert "Figure 1: sizes." in data and catalogue.TABLES["element_frequency"].caption in data
    assert baseline.index("Figure 3: per size.") < baseline.index("Figure 4: per element.")
    default_mae = table2(synthetic_overall(), FINAL[:1])["test MAE (meV)"].iloc[0].replace("±", "&#177;")
    assert catalogue.TABLES["table2"].caption in page and default_mae in page
    assert "Default: baseline" in page
    # each verdict names its method and the runs it compares that failed or did not converge
    assert "Method: least squares." in page and "did not converge:</b> cap_2000 seed 1 (diverged)" in page
    assert "Failed runs among those compared:</b> cap_2000 seed 1 (diverged)" in page
    # the learning curve's whole-test-set rows in the balancing section, beside its figures
    balancing = page.split(f"<h2>{catalogue.BALANCING}</h2>")[1].split("<h2>")[0]
    assert "Learning curve, whole test set" in balancing and "control_2000" in balancing


def test_figures_go_to_the_catalogues_sections_in_order():
    placed = place_figures({catalogue.SUMMARY: {"text": "hello"}},
                           [("x.png", "X", catalogue.FINAL), ("y.png", "Y", catalogue.SUMMARY),
                            ("z.png", "Z", catalogue.FINAL)])
    assert [s["title"] for s in placed] == list(catalogue.SECTIONS)
    by_title = {s["title"]: s for s in placed}
    assert by_title[catalogue.SUMMARY] == {"title": "Summary", "text": "hello", "figures": [("y.png", "Y")]}
    assert by_title[catalogue.FINAL]["figures"] == [("x.png", "X"), ("z.png", "Z")]
    with pytest.raises(ValueError, match="sections the page does not have"):
        place_figures({}, [("x.png", "X", "Appendix")])


def test_every_run_not_converged_is_named_with_what_it_affects():
    runs = _runs([
        {"experiment": "baseline", "seed": 0, "status": "converged"},
        {"experiment": "hp_lr-0.01", "seed": 0, "status": "not_converged", "final_improvement": 0.09,
         "used_by": "none"},
        {"experiment": "cap_2000", "seed": 1, "status": "not_converged", "final_improvement": float("nan"),
         "used_by": "H3; fig06_balanced_error_by_size"},
        {"experiment": "loss_inverse_frequency-1", "seed": 0, "status": "diverged", "best_val_mae_meV": 721.0,
         "max_val_mae_after_best_meV": 8000.0, "used_by": "fig08b_inverse_frequency_loss_error_by_size"},
        {"experiment": "hp_lr-0.1", "seed": 1, "status": "collapsed", "test_mae_meV": 780.0,
         "test_mae_vs_linear_reference": 0.88, "used_by": "none"},
    ])
    text = _convergence_text(runs, RULE)
    items = re.findall(r"<li>(.*?)</li>", text)
    assert "2 failed, 2 not converged</b> of 5" in text and "10 % of its peak" in text
    assert len(items) == 4 and "FAILED: diverged" in items[0] and "FAILED: collapsed" in items[1]  # failed first
    assert "loss_inverse_frequency-1 seed 0 (validation MAE rose to 8000 meV after its best, 721 meV)" in items[0]
    assert "fig08b_inverse_frequency_loss_error_by_size" in items[0]
    assert "780 meV, 0.88 &#215; the linear reference's); used by: none" in items[1]
    assert "hp_lr-0.01 seed 0 (best validation MAE still fell 9 %); used by: none" in items[2]
    assert "cap_2000 seed 1 (too few validations to judge); used by: H3; fig06" in items[3]
    assert "baseline" not in text
    settled = _convergence_text(runs.iloc[:1], RULE)
    assert "Every run converged and none failed" in settled and "<li>" not in settled
