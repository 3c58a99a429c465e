"""Rule figure_error_by_size: one of Figures 3, 6-10 (error per molecule size)."""

from workflow_scripts import targets
from workflow_scripts.evaluation.study_tables import gather
from workflow_scripts.figures.error_by_size import plot_error_by_size
from workflow_scripts.files import logs

log = logs.from_snakemake(snakemake)
p = snakemake.params
metrics = gather(snakemake.input.metrics, p.runs, {})
# Colours follow the figure's own list; the baseline comes first wherever it is shown.
plot_error_by_size(metrics, [tuple(e) for e in p.experiments], p.plots, snakemake.output.figure, p.title,
                   frequent_bin_fraction=p.frequent_bin_fraction, values_path=snakemake.output.values,
                   target=targets.target_of(snakemake.config))
