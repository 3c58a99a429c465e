"""Rule figure_learning_curves: Appendix Figures 3 and 4 (linear and log scale)."""

import pandas as pd

from workflow_scripts import targets
from workflow_scripts.figures.learning_curves import plot_learning_curves
from workflow_scripts.files import logs

log = logs.from_snakemake(snakemake)
p = snakemake.params
train_log, val_log = pd.read_csv(snakemake.input.train_log), pd.read_csv(snakemake.input.val_log)
for scale, log_y in (("linear", False), ("log", True)):  # the same values on both scales: written once
    plot_learning_curves(train_log, val_log, p.plots, snakemake.output[scale], p.titles[scale], log_y=log_y,
                         weighted=p.weighted, values_path=snakemake.output.values if log_y else None,
                         target=targets.target_of(snakemake.config))
