"""Rule figure_data_size: the learning curve, with the caps and their random controls at their own sizes."""

import pandas as pd

from workflow_scripts import targets
from workflow_scripts.figures.data_size import plot_learning_curve
from workflow_scripts.files import logs

log = logs.from_snakemake(snakemake)
p = snakemake.params
plot_learning_curve(pd.read_csv(snakemake.input.table), p.plots, snakemake.output.figure, snakemake.output.values,
                    p.title, target=targets.target_of(snakemake.config))
