"""Rule plot_dataset: Figure 1 (size histogram) and Appendix Figure 5 (heatmap)."""

import pandas as pd

from workflow_scripts.figures.dataset import plot_element_size_heatmap, plot_size_histogram
from workflow_scripts.files import logs

log = logs.from_snakemake(snakemake)
p = snakemake.params
histogram = pd.read_csv(snakemake.input.size_histogram)
plot_size_histogram(histogram, p.plots, snakemake.output.size_histogram, p.frequent_bin_fraction,
                    title=p.titles["size_histogram"].format(molecules=int(histogram["molecules"].sum())))
plot_element_size_heatmap(pd.read_csv(snakemake.input.element_size), pd.read_csv(snakemake.input.element_frequency),
                          p.plots, snakemake.output.heatmap, p.titles["heatmap"])
log.info("wrote %s", list(snakemake.output))
