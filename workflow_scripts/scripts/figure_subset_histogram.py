"""Rule figure_subset_histogram: Figure 5, a size-balanced subset over the training pool."""

import pandas as pd

from workflow_scripts.figures.training_data import plot_subset_histogram
from workflow_scripts.files import logs

log = logs.from_snakemake(snakemake)
p = snakemake.params
subset = pd.read_csv(snakemake.input.subset)
cap = int(subset["cap"].iloc[0]) if subset["cap"].notna().any() else None
plot_subset_histogram(subset, pd.read_csv(snakemake.input.pool), cap, p.plots, snakemake.output.figure, p.title,
                      subset_label=p.subset, values_path=snakemake.output.values)
