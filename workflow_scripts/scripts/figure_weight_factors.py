"""Rule figure_weight_factors: Appendix Figure 2, the loss weight factor against molecule size."""

from workflow_scripts.files import logs
from workflow_scripts.figures.study import plot_weight_factors

log = logs.from_snakemake(snakemake)
plot_weight_factors(snakemake.params.plots, snakemake.output.figure, rates=snakemake.params.rates)
