"""Rule figure_overview: overall test MAE of every experiment, against the linear reference."""

import pandas as pd

from workflow_scripts import targets
from workflow_scripts.figures.overview import plot_overall_comparison
from workflow_scripts.files import logs

log = logs.from_snakemake(snakemake)
p = snakemake.params
experiments = [tuple(e) for e in p.experiments]
plot_overall_comparison(pd.read_csv(snakemake.input.overall), experiments, p.plots, snakemake.output.figure, p.title,
                        groups=p.parts, values_path=snakemake.output.values,
                        target=targets.target_of(snakemake.config))
