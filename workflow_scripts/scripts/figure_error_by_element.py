"""Rule figure_error_by_element: Figure 4, the baseline's error per element group."""

from workflow_scripts.files import logs
from workflow_scripts.figures.study import plot_error_by_element
from workflow_scripts.evaluation.study_tables import gather

log = logs.from_snakemake(snakemake)
p = snakemake.params
metrics = gather(snakemake.input.metrics, {})
name = p.experiments[0][0]
rows = metrics[(metrics["experiment"] == name)].drop_duplicates("group")
train_total = metrics.loc[(metrics["experiment"] == name) & (metrics["group"] == "C"), "train_count"].max()
fraction = {g: c / max(train_total, 1) for g, c in zip(rows["group"], rows["train_count"])}
plot_error_by_element(metrics, [tuple(e) for e in p.experiments], p.plots, snakemake.output.figure,
                      "Baseline: error by element (Figure 4)", train_fraction=fraction)
