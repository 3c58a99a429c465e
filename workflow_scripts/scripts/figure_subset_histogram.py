"""Rule figure_subset_histogram: Figure 5, a size-balanced subset over the training pool."""

import pandas as pd

from workflow_scripts.files import logs
from workflow_scripts.figures.study import plot_subset_histogram

log = logs.from_snakemake(snakemake)
subset = pd.read_csv(snakemake.input.subset)
cap = int(subset["cap"].iloc[0]) if subset["cap"].notna().any() else None
plot_subset_histogram(
    subset, pd.read_csv(snakemake.input.pool), cap, snakemake.params.plots, snakemake.output.figure,
    f"Size-balanced training subset {snakemake.params.subset} (Figure 5)", subset_label=snakemake.params.subset,
)
