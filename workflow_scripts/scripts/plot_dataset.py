"""Rule plot_dataset: Figure 1 (size histogram) and Appendix Figure 5 (heatmap)."""

import pandas as pd

from workflow_scripts.files import logs
from workflow_scripts.figures.dataset import plot_element_size_heatmap, plot_size_histogram

log = logs.from_snakemake(snakemake)
histogram = pd.read_csv(snakemake.input.size_histogram)
total = int(histogram["molecules"].sum())
plot_size_histogram(
    histogram,
    snakemake.params.plots,
    snakemake.output.size_histogram,
    snakemake.params.frequent_bin_fraction,
    title=f"QM9 molecule sizes ({total:,} molecules)",
)
plot_element_size_heatmap(
    pd.read_csv(snakemake.input.element_size),
    pd.read_csv(snakemake.input.element_frequency),
    snakemake.params.plots,
    snakemake.output.heatmap,
)
log.info("wrote %s", list(snakemake.output))
