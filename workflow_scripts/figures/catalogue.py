"""The study's figures and result tables, each stated once: file, title, caption, what it shows, report section.

The rules read it through rules/common.smk: which figures the study draws (the report's inputs), the runs each
figure reads, and, as params, the titles the figure scripts draw and the captions of Snakemake's own report
(``snakemake --report``, templates in report/captions/). The self-contained page (report/sections.py) places each
figure by its section and caption. Everything is computed from the expanded experiments (name -> experiment, see
config/experiments.py) and the config, so any config's catalogue can be listed without running the workflow.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from workflow_scripts.config.experiments import baseline_of, in_parts, learning_curve_arms
from workflow_scripts.training.weights import RATE_SCHEMES

# Report sections in the order the page shows them; Snakemake's report shows them as categories.
SUMMARY = "Summary"
DATA = "Data (thesis §3.2.1)"
BASELINE = "Baseline: error by size and element (H1, H2)"
BALANCING = "Size-balanced subsets (H3)"
LOSS_WEIGHTS = "Size-weighted losses"
TARGETED = "Targeted training on large molecules (H4)"
FINAL = "Final comparison"
ALL_EXPERIMENTS = "Hyperparameter searches and all experiments"
SECTIONS = (SUMMARY, DATA, BASELINE, BALANCING, LOSS_WEIGHTS, TARGETED, FINAL, ALL_EXPERIMENTS)


def report_category(section: str) -> str:
    """A section as Snakemake's report names it: numbered, since that report lists its categories alphabetically."""
    return f"{SECTIONS.index(section) + 1}. {section}"


# File names (without .png) of the figures a rule draws under a fixed name.
SIZE_HISTOGRAM = "size_histogram"
ELEMENT_SIZE_HEATMAP = "element_size_heatmap"
ERROR_BY_ELEMENT = "fig04_baseline_error_by_element"
SUBSET_HISTOGRAM = "fig05_subset_histogram"
WEIGHT_FACTORS = "figA2_weight_factors"
OVERVIEW = "overview_overall_mae"
LEARNING_CURVE_FIGURE = "learning_curve_by_training_size"
# one run's learning curves: a wildcard pattern of the rules, drawn once per y scale
LEARNING_CURVES_RUN = "figA3_learning_curves_{experiment}_seed{seed}"
LEARNING_CURVES = LEARNING_CURVES_RUN + "_{scale}"
# the dataset figures lie beside the dataset counts, not with the study's figures
DATASET_FIGURES = (SIZE_HISTOGRAM, ELEMENT_SIZE_HEATMAP)

# Figures of the error per size: the y-range holds every point and the intervals of the size bins with at least
# this many test molecules; a tinier bin's interval (bounds from near 0 to far above) is cut at the axis, marked.
MIN_TEST_MOLECULES_FOR_RANGE = 30
VALUES_NOTE = "The values drawn: the CSV of the same name beside it."
CUT_CAPTION = (f" The y-axis shows the data: an interval of a size bin with fewer than {MIN_TEST_MOLECULES_FOR_RANGE} "
               "test molecules, or one reaching 0 on a log axis, is cut at the axis edge and marked there with an "
               "open triangle pointing the way it goes on; the CSV holds it whole.")

# Appendix Figure 2 of the thesis draws v(s) for these rates. The rates the experiments train with are added, so the
# figure shows the thesis's curves whichever experiments run.
THESIS_LOSS_RATES = (0, 2, 5, 10)


@dataclass(frozen=True)
class Figure:
    name: str  # file name without .png
    kind: str  # what draws it: rule figure_<kind>, or plot_dataset for "dataset"
    section: str
    title: str  # drawn on the figure; the size histogram's holds {molecules}, the molecule count
    caption: str  # under the figure on the page and in Snakemake's report
    experiments: tuple[tuple[str, str], ...] = ()  # (experiment, label) of the runs shown
    subcategory: str | None = None  # Snakemake's report: a group within the section
    labels: dict | None = None  # Snakemake's report: columns of that group's table

    @property
    def path(self) -> str:
        """Where it lies under results/."""
        return file_of(self.name)

    @property
    def category(self) -> str:
        return report_category(self.section)


@dataclass(frozen=True)
class Table:
    section: str
    caption: str

    @property
    def category(self) -> str:
        return report_category(self.section)


# The result tables, by the name of the rule output that writes them.
TABLES = {
    "element_frequency": Table(DATA, "Table 1: molecules containing each element"),
    "verdicts": Table(SUMMARY, "Hypothesis verdicts (seed-aware 95 % CI; bound: what the claim must stay below)"),
    "training_runs": Table(SUMMARY, "Training runs: step budget, time and convergence"),
    "table2": Table(FINAL, "Table 2: total test MSE and runtime"),
    "learning_curve": Table(BALANCING, "Learning curve: test MAE against training molecules, of the baseline on "
                                       "random fractions of the training set and of each cap and its random control "
                                       "of the same size; whole test set and frequent size bins, seed-aware 95 % CI"),
    "by_size": Table(ALL_EXPERIMENTS, "Test metrics of every run per molecule size, bootstrap 95 % CI of each run"),
    "by_element": Table(ALL_EXPERIMENTS, "Test metrics of every run per element group, bootstrap 95 % CI of each run"),
    "overall": Table(ALL_EXPERIMENTS, "Test metrics of every run over the whole test set, the macro average over "
                                      "frequent sizes and the worst frequent size; train and evaluation times"),
}


def file_of(name: str) -> str:
    """The figure's file under results/."""
    return f"{'analysis' if name in DATASET_FIGURES else 'figures'}/{name}.png"


def learning_curves_name(experiment, seed, scale: str) -> str:
    return LEARNING_CURVES.format(experiment=experiment, seed=seed, scale=scale)


def label_of(experiment: dict) -> str:
    """A sweep point by its swept value (``rate = 10``), anything else by its name."""
    if experiment["sweep_key"]:
        return f"{experiment['sweep_key'].split('.')[-1]} = {experiment['sweep_value']}"
    return experiment["name"]


def balancing_label(experiment: dict) -> str:
    if experiment["training"]["sampler"] == "stratified_by_size":
        return "each size sampled alike"
    return f"cap {experiment['subset']}"


def size_range(subset: dict) -> str | None:
    """A subset's molecule sizes in words ("13 to 23 atoms"); None where it is not a size range."""
    low, high = subset.get("min_atoms"), subset.get("max_atoms")
    if low is not None and high is not None:
        return f"{low} to {high} atoms"
    if low is not None:
        return f"more than {low - 1} atoms"
    if high is not None:
        return f"at most {high} atoms"
    return None


def final_runs(experiments: dict, config: dict) -> list[tuple[str, str]]:
    """(experiment, label) of the final comparison (Figure 10, Table 2), those that run."""
    return [(name, label) for label, name in config["final_comparison"].items() if name in experiments]


def capped_subset(experiments: dict, config: dict) -> str | None:
    """The balanced subset shown in Figure 5: the smallest cap an experiment trains on."""
    subsets = config["subsets"]
    capped = [(subsets[s]["cap_per_size"], s) for s in {e["subset"] for e in experiments.values()}
              if "cap_per_size" in subsets[s]]
    return min(capped)[1] if capped else None


def loss_rates(experiments: dict) -> list:
    """The rates Appendix Figure 2 draws: the thesis's and those the size-weighted experiments train with."""
    rates = {e["loss"]["rate"] for e in experiments.values() if e["loss"]["weighting"] in RATE_SCHEMES}
    return sorted(rates | set(THESIS_LOSS_RATES))


def learning_curve_runs(experiments: dict, config: dict) -> list[tuple[str, int]]:
    """Appendix Figures 3 and 4: the first seed of each experiment of the final comparison."""
    return [(name, seed) for name, _ in final_runs(experiments, config) for seed in experiments[name]["seeds"][:1]]


def share(fraction: float) -> str:
    """A fraction of QM9 as the captions, titles and legends write it: 0.01 -> "1 %"."""
    return f"{100 * fraction:g} %"


def _shared_range(experiments: dict, names: list[str], config: dict) -> str | None:
    """The size range all the named experiments train on, in words; None if they differ or none is a range."""
    subsets = {experiments[n]["subset"] for n in names}
    return size_range(config["subsets"][subsets.pop()]) if len(subsets) == 1 else None


def _error_by_size(experiments: dict, config: dict, baseline: str | None) -> list[Figure]:
    """Figures 3, 6-10: the error per size of the experiments each compares (those that run)."""
    def sizes(names, before=", "):
        words = _shared_range(experiments, names, config) if names else None
        return f"{before}{words}" if words else ""

    base = [(baseline, "baseline")] if baseline else []
    targeted = in_parts(experiments, "targeted")
    targeted_words = _shared_range(experiments, targeted, config) if targeted else None
    final = final_runs(experiments, config)
    versus = " against ".join(label for _, label in final)
    specs = [
        ("fig03_baseline_error_by_size", BASELINE, "Baseline: error by molecule size (Figure 3)",
         "Figure 3: baseline test MAE per molecule size.", base),
        ("fig06_balanced_error_by_size", BALANCING, "Size-balanced training subsets (Figure 6)",
         "Figure 6: error per size for each cap T.",
         base + [(n, balancing_label(experiments[n])) for n in in_parts(experiments, "balancing")]),
        ("fig07_size_loss_error_by_size", LOSS_WEIGHTS,
         f"Size-based loss weights{sizes(in_parts(experiments, 'loss_size'))} (Figure 7)",
         "Figure 7: size-based weights, rate sweep.", [(n, label_of(experiments[n])) for n in in_parts(experiments, "loss_size")]),
        ("fig08_size_frequency_loss_error_by_size", LOSS_WEIGHTS,
         f"Size-and-frequency loss weights{sizes(in_parts(experiments, 'loss_size_frequency'))} (Figure 8)",
         "Figure 8: size-and-frequency weights (formula as printed in the thesis), rate sweep.",
         [(n, label_of(experiments[n])) for n in in_parts(experiments, "loss_size_frequency")]),
        ("fig08b_inverse_frequency_loss_error_by_size", LOSS_WEIGHTS, "Inverse-frequency loss weights",
         "Inverse-frequency weights.",
         base + [(n, label_of(experiments[n])) for n in in_parts(experiments, "loss_inverse_frequency")]),
        ("fig09_targeted_error_by_size", TARGETED,
         f"Training on molecules with {targeted_words} (Figure 9)" if targeted_words else
         "Training on large molecules only (Figure 9)",
         f"Figure 9: trained on {targeted_words or 'large molecules'} only.",
         base + [(n, targeted_words or experiments[n]["subset"]) for n in targeted]),
        ("fig10_final_error_by_size", FINAL, f"{versus} (Figure 10)", f"Figure 10: {versus} per size.", final),
    ]
    return [Figure(name, "error_by_size", section, title, caption + CUT_CAPTION, tuple(shown))
            for name, section, title, caption, shown in specs if shown]


def _learning_curves(experiments: dict, config: dict) -> list[Figure]:
    figures = []
    for name, seed in learning_curve_runs(experiments, config):
        for number, scale in (("3", "linear"), ("4", "log")):
            figures.append(Figure(
                learning_curves_name(name, seed, scale), "learning_curves", FINAL,
                f"Learning curves: {name}, seed {seed} ({scale} scale)",
                f"Appendix Figure {number}: learning curves of {name}, seed {seed}, {scale} scale: the training "
                "error of every step and the validation MAE of every epoch. The values drawn: "
                f"{LEARNING_CURVES_RUN.format(experiment=name, seed=seed)}.csv beside it.",
                ((name, name),), subcategory="Learning curves",
                labels={"run": f"{name}, seed {seed}", "scale": scale},
            ))
    return figures


def _learning_curve(experiments: dict, config: dict) -> Figure | None:
    """The learning curve, with the caps and their controls at their own sizes; not drawn for the baseline alone."""
    arms = learning_curve_arms(experiments, config["subsets"])
    if len(arms) < 2:
        return None
    return Figure(
        LEARNING_CURVE_FIGURE, "data_size", BALANCING,
        "Test error against training molecules: less data or balanced data?",
        "Test MAE against the number of training molecules: the baseline on random fractions of the training set "
        "(line; the largest point is the baseline), each cap T (filled squares) and its random control with as many "
        "molecules, drawn without balancing (open triangles); top: the whole test set, bottom: a few frequent size "
        "bins. A cap's distance from its control is what balancing does, the control's distance from the curve's "
        f"largest point what less data does. {VALUES_NOTE}",
        tuple(arms))


def figures(experiments: dict, config: dict) -> dict[str, Figure]:
    """Every figure the study draws, by file name, in the page's order (by section, then as the page shows them)."""
    baseline = baseline_of(experiments)
    by_size = {f.name: f for f in _error_by_size(experiments, config, baseline)}
    subset = capped_subset(experiments, config)
    frequent = share(config["analysis"]["frequent_bin_fraction"])
    listed = [
        Figure(SIZE_HISTOGRAM, "dataset", DATA, "QM9 molecule sizes ({molecules:,} molecules)",
               f"Figure 1: molecules per size; blue bins hold more than {frequent} of QM9 (the evaluation strata)."),
        Figure(ELEMENT_SIZE_HEATMAP, "dataset", DATA, "Size distribution of the molecules containing each element",
               "Appendix Figure 5: for each element, the share of its molecules at each size."),
        by_size.get("fig03_baseline_error_by_size"),
        baseline and Figure(ERROR_BY_ELEMENT, "error_by_element", BASELINE, "Baseline: error by element (Figure 4)",
                            "Figure 4: baseline test MAE per element group.", ((baseline, "baseline"),)),
        subset and Figure(SUBSET_HISTOGRAM, "subset_histogram", BALANCING,
                          f"Size-balanced training subset {subset} (Figure 5)",
                          f"Figure 5: the most strongly capped training subset, {subset}, over the training pool."),
        by_size.get("fig06_balanced_error_by_size"),
        _learning_curve(experiments, config),
        Figure(WEIGHT_FACTORS, "weight_factors", LOSS_WEIGHTS, "Loss weight factor v against molecule size",
               "Appendix Figure 2: weight factor v against size for several r."),
        by_size.get("fig07_size_loss_error_by_size"),
        by_size.get("fig08_size_frequency_loss_error_by_size"),
        by_size.get("fig08b_inverse_frequency_loss_error_by_size"),
        by_size.get("fig09_targeted_error_by_size"),
        by_size.get("fig10_final_error_by_size"),
        *_learning_curves(experiments, config),
        Figure(OVERVIEW, "overview", ALL_EXPERIMENTS, "Test MAE of every experiment",
               "Test MAE of every experiment (95 % CI).", tuple((n, n) for n in experiments)),
    ]
    # every figure but the dataset's (their tables lie beside them, drawn as they are) writes the values it draws
    listed = [replace(f, caption=f"{f.caption} {VALUES_NOTE}") if f and f.kind not in ("dataset", "data_size",
              "learning_curves") else f for f in listed]
    return {f.name: f for f in listed if f}
