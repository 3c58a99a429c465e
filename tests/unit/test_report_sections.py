"""The study's page (report/sections.py) is written from the files rule report names; the catalogue places figures."""

import re

import pandas as pd
import pytest

from tests.conftest import REPO
from tests.unit.synthetic_study import (LEARNING_CURVE_ARMS, LEARNING_CURVE_SUBSETS, learning_curve_metrics,
                                        learning_curve_runs, synthetic_by_element, synthetic_by_size,
                                        synthetic_overall)
from workflow_scripts import targets
from workflow_scripts.evaluation.learning_curve import learning_curve
from workflow_scripts.evaluation.study_tables import table2
from workflow_scripts.config.validation import load_yaml
from workflow_scripts.figures import catalogue
from workflow_scripts.figures.style import close, figure
from workflow_scripts.report import thesis
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


U0 = targets.get("U0")


def _runs(rows, target=U0) -> pd.DataFrame:
    """A training_runs table: the given columns, the rest as for a settled run (errors in the target's unit)."""
    scale = 1.0 if target.display_unit == "meV" else 1e-3
    settled = {"budget_rule": "equal_steps", "n_train": 100, "steps": 10, "epochs_run": 2, "train_seconds": 5.0,
               target.metric("best_val_mae"): 40.0 * scale, target.metric("max_val_mae_after_best"): 41.0 * scale,
               "final_improvement": 0.01, target.metric("test_mae"): 180.0 * scale,
               "test_mae_vs_linear_reference": 0.2, "used_by": "H1-H4", "reused_from": ""}
    frame = pd.DataFrame([{**settled, **row} for row in rows])
    return frame.assign(converged=frame["status"] == "converged")


def _inputs(folder, target=U0, runs=({"experiment": "baseline", "seed": 0, "status": "converged"},)):
    """Every table the page reads, under names and folders unlike the workflow's: only these paths can be read.
    ``target``: the study's property, whose names and units the tables carry."""
    folder.mkdir()
    overall = synthetic_overall(target=target)
    frames = {
        "element_frequency": pd.DataFrame({"element": ["H", "F"], "molecules": [130000, 3314]}),
        "by_size": synthetic_by_size(target=target), "by_element": synthetic_by_element(target=target),
        "overall": overall,
        # Table 2 as the workflow writes it (all its columns: the page must fit them on a narrow screen too)
        "table2": table2(overall, FINAL, _runs([{"experiment": e, "seed": 0, "status": "converged"}
                                                for e, _ in FINAL], target), target=target),
        "training_runs": _runs(list(runs), target),
        "verdicts": pd.DataFrame([{"hypothesis": h, **VERDICT, "unit": "" if h == "H3" else target.display_unit}
                                  for h in ("H1", "H2", "H3", "H4")]),
        "learning_curve": learning_curve(learning_curve_metrics(overall, target),
                                         learning_curve_metrics(synthetic_by_size(target=target), target),
                                         learning_curve_runs(), LEARNING_CURVE_ARMS, LEARNING_CURVE_SUBSETS,
                                         target=target),
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
    # the published full-QM9 errors beside Table 2, and how far this baseline is from SchNet's
    final = page.split(f"<h2>{catalogue.FINAL}</h2>")[1].split("<h2>")[0]
    assert "was 14 meV for SchNet and 5.85 meV for PaiNN (Sch&#252;tt et al. 2018" in final
    baseline_mae = synthetic_overall().query("experiment == 'baseline' and group == 'all'")["mae_meV"].mean()
    assert f"This study's baseline (SchNet trained on 100 molecules): {baseline_mae:.1f} meV, " \
           f"{baseline_mae / 14:.1f} times the published SchNet's." in final
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


def test_a_dipole_moment_study_names_its_property_and_unit(tmp_path):
    """The page of a study of μ: its title, summary, tables and cards say μ and D; U0 and meV appear only where the
    page says what the thesis studied (the thesis beside this run: a sentence, no numbers)."""
    mu = targets.get("mu")
    runs = ({"experiment": "baseline", "seed": 0, "status": "converged"},
            {"experiment": "cap_2000", "seed": 1, "status": "diverged"})
    tables = _inputs(tmp_path / "in", mu, runs)
    out = tmp_path / "report.html"
    build(out, [], tables, "tiny", {"pool_size": 400}, EXPERIMENTS, [("baseline", "Default")], "equal_steps", 2, RULE,
          THESIS_SETTINGS, target=mu)
    page = out.read_text().replace("&#8203;", "")
    mu_html, debye_squared = "&#956;", "D&#178;"
    assert f"<title>QM9 {mu_html} with SchNet: error by molecule size and element</title>" in page
    assert f"trained on {mu_html} (the dipole moment) of QM9" in page and "Baseline test MAE 0.0" in page
    assert f"test MAE of {mu_html} (D)" in page and f"test MSE of {mu_html} ({debye_squared})" in page  # Table 2
    assert "mae_D" in page and "mse_D2" in page and "best_val_mae_D" in page  # the tables' own columns
    assert "validation MAE rose to 0.04 D after its best, 0.04 D" in page  # the failed run's evidence, in D
    assert " D (95 % CI" in page  # the cards
    assert "was 0.033 D for SchNet and 0.012 D for PaiNN" in page  # the published errors of μ
    # the thesis beside this run: its sentence only, U0 named there and in the settings' thesis column
    said = thesis.not_compared(mu).replace("(", "").split()[:4]
    assert " ".join(said) in page and "The thesis's findings and this run's answers" not in page
    rest = page.replace("The thesis studied U0", "").replace(">U0 (meV)</td>", "")
    assert "U0" not in rest and "meV" not in rest and "eV&#178;" not in rest
