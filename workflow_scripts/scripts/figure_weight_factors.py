"""Rule figure_weight_factors: Appendix Figure 2, the loss weight factor against molecule size."""

from workflow_scripts.figures.training_data import plot_weight_factors
from workflow_scripts.files import logs

log = logs.from_snakemake(snakemake)
p = snakemake.params
plot_weight_factors(p.plots, snakemake.output.figure, p.title, rates=p.rates, values_path=snakemake.output.values)
