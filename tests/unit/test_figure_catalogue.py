"""The figure catalogue: every figure of the study once, with what it shows, derived from the experiments and config."""

import copy
import re

import pytest

from tests.conftest import REPO, tiny_config
from workflow_scripts.config.experiments import expand_experiments
from workflow_scripts.figures import catalogue
from workflow_scripts.figures.catalogue import (
    SECTIONS, TABLES, capped_subset, file_of, figures, final_runs, learning_curve_runs, loss_rates, report_category,
    size_range,
)


def study(config):
    return {e["name"]: e for e in expand_experiments(config)}, config


def test_the_default_study_draws_every_figure_of_the_thesis(base_config):
    shown = figures(*study(base_config))
    assert list(shown) == [
        "size_histogram", "element_size_heatmap", "fig03_baseline_error_by_size", "fig04_baseline_error_by_element",
        "fig05_subset_histogram", "fig06_balanced_error_by_size", "learning_curve_by_training_size",
        "figA2_weight_factors",
        "fig07_size_loss_error_by_size", "fig08_size_frequency_loss_error_by_size",
        "fig08b_inverse_frequency_loss_error_by_size", "fig09_targeted_error_by_size", "fig10_final_error_by_size",
        "figA3_learning_curves_baseline_seed0_linear", "figA3_learning_curves_baseline_seed0_log",
        "figA3_learning_curves_custom_seed0_linear", "figA3_learning_curves_custom_seed0_log",
        "figA3_learning_curves_custom_thesis_budget_seed0_linear", "figA3_learning_curves_custom_thesis_budget_seed0_log",
        "overview_overall_mae"]
    # in the page's order: by section
    assert [SECTIONS.index(f.section) for f in shown.values()] == sorted(SECTIONS.index(f.section)
                                                                         for f in shown.values())
    assert all(f.caption and f.title for f in shown.values())
    assert shown["fig07_size_loss_error_by_size"].title == "Size-based loss weights, 13 to 23 atoms (Figure 7)"
    assert shown["fig09_targeted_error_by_size"].title == "Training on molecules with more than 17 atoms (Figure 9)"
    assert shown["fig10_final_error_by_size"].title == ("Default against Custom against Custom (thesis budget) "
                                                         "(Figure 10)")
    # each figure says where its drawn values are; the error-by-size figures, which intervals their axis cuts
    assert all("The values drawn: " in f.caption for f in shown.values() if f.kind != "dataset")
    assert all("cut at the axis edge" in f.caption for f in shown.values() if f.kind == "error_by_size")
    assert shown["figA3_learning_curves_custom_seed0_log"].title == "Learning curves: custom, seed 0 (log scale)"
    assert shown["figA3_learning_curves_custom_seed0_log"].labels == {"run": "custom, seed 0", "scale": "log"}


def test_each_figure_shows_its_experiments_with_their_labels(base_config):
    experiments, config = study(base_config)
    shown = figures(experiments, config)
    assert shown["fig06_balanced_error_by_size"].experiments == (
        ("baseline", "baseline"), ("balanced-T2000", "cap T2000"), ("balanced-T4000", "cap T4000"),
        ("balanced-T6000", "cap T6000"), ("balanced_sampler", "each size sampled alike"))
    assert shown["fig07_size_loss_error_by_size"].experiments == tuple(
        (f"loss_size-{r}", f"rate = {r}") for r in (0, 2, 5, 10))
    assert shown["fig09_targeted_error_by_size"].experiments == (("baseline", "baseline"),
                                                                  ("targeted", "more than 17 atoms"))
    final = (("baseline", "Default"), ("custom", "Custom"), ("custom_thesis_budget", "Custom (thesis budget)"))
    assert shown["fig10_final_error_by_size"].experiments == final
    assert [n for n, _ in shown["overview_overall_mae"].experiments] == list(experiments)
    # the learning curve: the baseline and its fractions, the caps, their controls (not balanced_sampler)
    assert [n for n, _ in shown["learning_curve_by_training_size"].experiments] == [
        "baseline", "learning_curve-fraction_25", "learning_curve-fraction_50", "learning_curve-fraction_75",
        "balanced-T2000", "balanced-T4000", "balanced-T6000", "balanced_control-T2000_random",
        "balanced_control-T4000_random", "balanced_control-T6000_random"]
    assert final_runs(experiments, config) == list(final)
    assert learning_curve_runs(experiments, config) == [("baseline", 0), ("custom", 0), ("custom_thesis_budget", 0)]


def test_a_figure_with_nothing_to_show_is_not_drawn(base_config):
    experiments, config = study({**base_config, **tiny_config("baseline", "custom")})
    shown = figures(experiments, config)
    assert {"fig03_baseline_error_by_size", "fig04_baseline_error_by_element", "fig10_final_error_by_size",
            "figA2_weight_factors", "overview_overall_mae"} <= set(shown)
    # no capped subset, and the loss-weight figures show no baseline: nothing to draw
    assert not set(shown) & {"fig05_subset_histogram", "fig07_size_loss_error_by_size",
                             "fig08_size_frequency_loss_error_by_size", "learning_curve_by_training_size"}
    assert capped_subset(experiments, config) is None
    # the figures that compare a remedy with the baseline still show the baseline
    assert shown["fig09_targeted_error_by_size"].experiments == (("baseline", "baseline"),)


def test_titles_and_captions_follow_the_config(base_config):
    config = copy.deepcopy(base_config)
    config["analysis"]["frequent_bin_fraction"] = 0.02
    config["subsets"]["more_than_17"] = {"min_atoms": 20}
    config["final_comparison"] = {"Thesis": "baseline", "Tuned": "custom"}
    shown = figures(*study(config))
    assert "more than 2 % of QM9" in shown["size_histogram"].caption
    assert shown["fig09_targeted_error_by_size"].title == "Training on molecules with more than 19 atoms (Figure 9)"
    assert shown["fig10_final_error_by_size"].title == "Thesis against Tuned (Figure 10)"
    assert shown["fig10_final_error_by_size"].experiments == (("baseline", "Thesis"), ("custom", "Tuned"))


def test_appendix_figure_2_draws_the_thesis_rates_and_the_studys(base_config):
    experiments, config = study(base_config)
    assert loss_rates(experiments) == [0, 2, 5, 10]
    experiments["loss_size-10"] = {**experiments["loss_size-10"], "loss": {"weighting": "size", "rate": 7}}
    assert loss_rates(experiments) == [0, 2, 5, 7, 10]


def test_figure_5_shows_the_most_strongly_capped_subset_in_use(base_config):
    experiments, config = study(base_config)
    assert capped_subset(experiments, config) == "T2000"
    del experiments["balanced-T2000"]
    assert capped_subset(experiments, config) == "T4000"


@pytest.mark.parametrize("subset,words", [
    ({"min_atoms": 13, "max_atoms": 23}, "13 to 23 atoms"), ({"min_atoms": 18}, "more than 17 atoms"),
    ({"max_atoms": 9}, "at most 9 atoms"), ({"cap_per_size": 2000}, None), ({}, None)])
def test_size_range(subset, words):
    assert size_range(subset) == words


def test_files_sections_and_report_categories():
    assert file_of("size_histogram") == "analysis/size_histogram.png"
    assert file_of("fig03_baseline_error_by_size") == "figures/fig03_baseline_error_by_size.png"
    assert catalogue.learning_curves_name("custom", 0, "log") == "figA3_learning_curves_custom_seed0_log"
    # Snakemake's report sorts categories by name: numbered, they keep the page's order
    categories = [report_category(s) for s in SECTIONS]
    assert categories == sorted(categories) and categories[0] == "1. Summary"
    assert {t.section for t in TABLES.values()} <= set(SECTIONS)


def test_every_caption_template_shows_its_own_outputs_caption():
    """report/captions/<output>.rst shows params.captions[<output>]: one template per output name, none re-typed."""
    templates = sorted((REPO / "report/captions").glob("*.rst"))
    assert {t.stem for t in templates} >= {"figure", "linear", "log", "size_histogram", "heatmap", *TABLES}
    for template in templates:
        assert re.fullmatch(r'\{\{ snakemake\.params\.captions\["(\w+)"\] \}\}\n', template.read_text())[1] == \
            template.stem
    # and every rule that marks an output for the report names a template that exists
    rules = "\n".join(p.read_text() for p in (REPO / "rules").glob("*.smk"))
    used = set(re.findall(r'reported_table\([^)]*"(\w+)"\)', rules)) | set(
        re.findall(r'reported_figure\([^)]*"(\w+)"\)', rules)) | {"figure"}
    assert used <= {t.stem for t in templates}
