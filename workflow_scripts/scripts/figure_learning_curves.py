"""Rule figure_learning_curves: Appendix Figures 3 and 4 (linear and log scale)."""

import pandas as pd

from workflow_scripts.files import logs
from workflow_scripts.figures.study import plot_learning_curves

log = logs.from_snakemake(snakemake)
w, p = snakemake.wildcards, snakemake.params
train_log, val_log = pd.read_csv(snakemake.input.train_log), pd.read_csv(snakemake.input.val_log)
for path, log_y in ((snakemake.output.linear, False), (snakemake.output.log, True)):
    plot_learning_curves(train_log, val_log, p.plots, path, f"Learning curves: {w.experiment}, seed {w.seed}",
                         log_y=log_y, weighted=p.weighted)
