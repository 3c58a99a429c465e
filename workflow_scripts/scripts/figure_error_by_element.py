"""Rule figure_error_by_element: Figure 4, the baseline's error per element group."""

from workflow_scripts import targets
from workflow_scripts.evaluation.study_tables import gather
from workflow_scripts.figures.error_by_element import plot_error_by_element, train_fractions
from workflow_scripts.files import logs

log = logs.from_snakemake(snakemake)
p = snakemake.params
metrics = gather(snakemake.input.metrics, p.runs, {})
experiments = [tuple(e) for e in p.experiments]
plot_error_by_element(metrics, experiments, p.plots, snakemake.output.figure, p.title,
                      train_fraction=train_fractions(metrics, experiments[0][0]), values_path=snakemake.output.values,
                      target=targets.target_of(snakemake.config))
