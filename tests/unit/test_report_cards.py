"""The first screen's plain words (report/cards.py, thesis.py, settings.py) from verdict rows and metrics tables."""

import pandas as pd

from tests.unit.synthetic_study import synthetic_by_size, synthetic_overall
from workflow_scripts import targets
from workflow_scripts.report import cards, settings, thesis

ROW = {"comparison": "baseline", "control": False, "value": -3.21, "ci_low": -5.1, "ci_high": -1.3, "bound": 0.0,
       "verdict": "supported", "placebo_passes": float("nan"), "secondary_statistic": "",
       "secondary_value": float("nan"), "secondary_ci_low": float("nan"), "secondary_ci_high": float("nan"),
       "unreliable_runs": "", "statistic": "s", "question": ""}


def verdicts(**changes) -> pd.DataFrame:
    """H1..H4 rows (two H3 arms) and the two placebo rows; ``changes``: hypothesis -> column overrides."""
    rows = [
        {**ROW, "hypothesis": "H1"},
        {**ROW, "hypothesis": "H2", "secondary_statistic": "extra_error_with_F_meV", "secondary_value": 25.6,
         "secondary_ci_low": 10.0, "secondary_ci_high": 40.0},
        {**ROW, "hypothesis": "H3", "comparison": "balanced-T2000 vs balanced_control-T2000_random",
         "verdict": "inconclusive", "value": 0.013, "ci_low": -0.2, "ci_high": 0.22},
        {**ROW, "hypothesis": "H3", "comparison": "balanced_sampler vs baseline", "verdict": "inconclusive"},
        {**ROW, "hypothesis": "H3", "comparison": "placebo vs baseline", "control": True, "placebo_passes": True},
        {**ROW, "hypothesis": "H4", "comparison": "targeted vs baseline", "statistic": "delta_mae_above_17_atoms",
         "verdict": "contradicted", "value": 30.0, "ci_low": 20.0, "ci_high": 40.0, "bound": 16.1,
         "secondary_value": 74.0, "secondary_ci_low": 60.0, "secondary_ci_high": 90.0,
         "unreliable_runs": "targeted seed 1 (diverged); baseline seed 0 (not_converged)"},
        {**ROW, "hypothesis": "H4", "comparison": "placebo vs baseline", "control": True, "placebo_passes": True,
         "verdict": "supported", "bound": 16.1},
    ]
    for row in rows:
        row.update(changes.get(row["hypothesis"], {}))
    return pd.DataFrame(rows)


def test_numbers_read_as_signed_meV_with_their_interval():
    assert cards.signed(-3.21) == "\u22123.2" and cards.signed(0.5) == "+0.5" and cards.signed(float("nan")) == "–"
    assert cards.interval(-5.1, -1.3) == "95 % CI \u22125.1 to \u22121.3"


def test_one_card_per_hypothesis_and_the_placebo_never_a_finding():
    made = {card["hypothesis"]: card for card in cards.hypothesis_cards(verdicts())}
    assert list(made) == ["H1", "H2", "H3", "H4"]
    # the placebo's H4 row says "supported": it is a check, shown as passed, never as H4's answer
    assert made["H4"]["verdict"] == "contradicted" and all(c["placebo"] == "passed" for c in made.values())
    assert [arm["arm"] for arm in made["H3"]["arms"]] == ["balanced-T2000", "balanced_sampler"]
    assert "\u22123.2 meV (95 % CI \u22125.1 to \u22121.3)" in made["H1"]["effect"]
    assert "Molecules with F: +25.6 meV extra" in made["H2"]["effect"] and "here F" in made["H2"]["meaning"]
    assert "above 17 atoms" in made["H4"]["effect"] and "up to +16.1 meV" in made["H4"]["effect"]
    assert "keep them in the training data" in made["H4"]["meaning"]
    assert made["H4"]["caution"] == "Caution: 2 of the runs compared did not converge, 1 of them failed (Summary)."
    assert made["H1"]["caution"] == ""
    assert made["H1"]["question"] == cards.QUESTIONS["H1"]  # no question in the row: the fallback


def test_h3_card_answers_for_all_arms():
    assert cards.h3_verdict([{"verdict": "inconclusive"}, {"verdict": "inconclusive"}]) == "inconclusive"
    assert cards.h3_verdict([{"verdict": "supported"}, {"verdict": "inconclusive"}]) == "mixed"
    mixed = cards.hypothesis_cards(verdicts(H3={"verdict": "supported"}))[2]
    assert mixed["verdict"] == "supported"  # both arms and not the placebo's row


def test_summary_sentence_and_failed_placebo():
    sentence = cards.summary_sentence(verdicts(), "quick")
    assert sentence.startswith("At the quick scale, molecules of sizes rare in the training data were predicted "
                               "worse (H1), molecules with rare elements were predicted worse (H2), balancing by "
                               "size did not measurably even out the error (H3) and training only on large "
                               "molecules was worse on them (H4); the placebo control passed")
    failed = verdicts(H4={"placebo_passes": False})
    assert cards.placebo_status(failed) == "failed" and "FAILED" in cards.summary_sentence(failed, "quick")
    assert cards.placebo_status(verdicts().query("not control")) == "not run"


EXPERIMENTS = {
    "baseline": {"part": "baseline", "subset": "full", "seeds": [0, 1],
                 "model": {"n_atom_basis": 32, "n_interactions": 2, "data_cutoff": 5.0, "model_cutoff": 5.0},
                 "training": {"batch_size": 32, "epochs": 18, "lr": 0.03}, "loss": {"weighting": "none"}},
    "cap_2000": {"part": "balancing", "subset": "T2000"},
    "custom": {"part": "final", "subset": "more_than_17",
               "model": {"n_atom_basis": 10, "n_interactions": 2, "data_cutoff": 4.0, "model_cutoff": 5.0},
               "training": {"batch_size": 8, "epochs": 24, "lr": 0.003}, "loss": {"weighting": "size", "rate": 10}},
}


def test_the_thesis_beside_this_run():
    overall = synthetic_overall().replace({"experiment": {"cap_4000": "custom"}})
    rows = thesis.thesis_beside(verdicts(), overall, synthetic_by_size(), EXPERIMENTS, "baseline",
                                [("baseline", "Default"), ("custom", "Custom")])
    by = {row["finding"]: row for row in rows}
    assert len(rows) == 7
    assert by["Rare sizes (H1)"]["agreement"] == "agrees" and by["Rare sizes (H1)"]["this_run"].startswith(
        "supported: \u22123.2 meV per doubling")
    assert by["Balancing by size (H3)"]["agreement"] == "agrees"  # no arm balanced: the rejection stands
    assert "above 18 atoms T = 2,000" in by["Balancing by size (H3)"]["this_run"]
    assert by["Targeted training (H4)"]["agreement"] == "differs"
    assert by["Final comparison"]["agreement"] == "agrees"  # Default's MSE below the (worse) stand-in's
    assert by["Rate r of the size-weighted losses"]["this_run"] == "not run"
    assert thesis.thesis_line(rows).startswith("Beside the thesis: this run agrees on ")


def test_sizes_mae_weights_sizes_by_their_test_count():
    table = pd.DataFrame({"experiment": "a", "seed": [0, 0, 0], "group": [12, 13, 14], "count": [1, 3, 1],
                          "mae_meV": [100.0, 10.0, 20.0]})
    assert thesis.sizes_mae(table, "a", 13, 23) == 12.5


def test_settings_in_words(base_config):
    thesis_column = settings.thesis_settings(base_config["defaults"], base_config["split"]["test_fraction"])
    rows = settings.scale_rows({"pool_size": 4000}, EXPERIMENTS["baseline"], 12000, thesis_column)
    assert {r["setting"]: r["this_run"] for r in rows}["molecules in the pool"] == "4,000"
    assert [r["this_run"] for r in rows[2:]] == [18, 32, 32, 2, "0.03", "2", "SchNet"]
    # the thesis's column is the shipped config's defaults, the thesis's base model
    assert [r["thesis"] for r in rows] == ["130,831 (all of QM9)", "26,166 (the 20 % validation set)", 22, 512, 128,
                                           3, "0.001", "1", "SchNet"]
    painn = {**EXPERIMENTS["baseline"], "model": {**EXPERIMENTS["baseline"]["model"], "representation": "painn"}}
    assert settings.scale_rows({"pool_size": 4000}, painn, 12000, thesis_column)[-1]["this_run"] == "PaiNN"
    assert settings.model_sentence("Default", "baseline", painn, 2800).startswith("Default (baseline): PaiNN of width")
    assert settings.networks(EXPERIMENTS) == "SchNet"  # models saved before model.representation existed
    assert settings.networks({**EXPERIMENTS, "p": painn, "s": {"model": {"representation": "so3net"}}}) == (
        "SchNet, PaiNN and SO3net")
    sentence = settings.model_sentence("Custom", "custom", EXPERIMENTS["custom"], 1605)
    assert "the 1,605 training molecules with more than 17 atoms" in sentence and "(r = 10)" in sentence
    assert "24 epochs' worth of steps" in sentence
    thesis_rule = {**EXPERIMENTS["custom"], "training": {**EXPERIMENTS["custom"]["training"], "budget": "epochs"}}
    assert "24 epochs over its own training molecules" in settings.model_sentence("Custom", "c", thesis_rule, 1605)
    assert "all 2,800 training molecules" in settings.model_sentence("Default", "baseline",
                                                                       EXPERIMENTS["baseline"], 2800)


def test_the_thesis_column_follows_the_configs_defaults(base_config):
    """Changing the study's defaults changes the settings table's thesis column: it is stated in config.yaml only."""
    defaults = {**base_config["defaults"], "seeds": [0, 1],
                "model": {**base_config["defaults"]["model"], "n_atom_basis": 64, "n_interactions": 6},
                "training": {**base_config["defaults"]["training"], "epochs": 40, "batch_size": 100, "lr": 5e-4}}
    rows = settings.scale_rows({"pool_size": 4000}, EXPERIMENTS["baseline"], 12000,
                               settings.thesis_settings(defaults, 0.1))
    assert [r["thesis"] for r in rows] == ["130,831 (all of QM9)", "13,083 (the 10 % validation set)", 40, 100, 64,
                                           6, "0.0005", "2", "SchNet"]


def test_cards_write_the_errors_in_the_targets_unit():
    """A dipole-moment study's verdict rows carry unit D: its cards write D with the decimals of D; rows without a
    unit take the study's target's."""
    mu = targets.get("mu")
    rows = verdicts(H1={"unit": "D"}, H2={"unit": "D", "secondary_statistic": "extra_error_with_F_D"}, H4={"unit": "D"})
    without_unit = verdicts(H2={"secondary_statistic": "extra_error_with_F_D"})
    for made in (cards.hypothesis_cards(rows), cards.hypothesis_cards(without_unit, mu)):
        made = {card["hypothesis"]: card for card in made}
        assert "\u22123.210 D (95 % CI \u22125.100 to \u22121.300)" in made["H1"]["effect"]
        assert "Molecules with F: +25.600 D extra" in made["H2"]["effect"] and "here F" in made["H2"]["meaning"]
        assert "up to +16.100 D" in made["H4"]["effect"]
        assert not any("meV" in str(card) for card in made.values())


def test_the_thesis_is_set_beside_a_study_of_u0_only(base_config):
    thesis_column = settings.thesis_settings(base_config["defaults"], base_config["split"]["test_fraction"])
    mu, gap = targets.get("mu"), targets.get("gap")
    assert thesis.compares(targets.get("U0")) and not thesis.compares(mu) and not thesis.compares(gap)
    line = thesis.thesis_line([], mu)
    assert line.startswith("The thesis studied U0") and "μ (the dipole moment)" in line and "agrees" not in line
    assert "the HOMO-LUMO gap" in thesis.thesis_line([], gap)
    rows = settings.scale_rows({}, {}, None, thesis_column, mu)
    assert rows[0] == {"setting": "property (target)", "thesis": "U0 (meV)", "this_run": "μ, the dipole moment (D)"}
    assert all(row["setting"] != "property (target)" for row in settings.scale_rows({}, {}, None, thesis_column))
