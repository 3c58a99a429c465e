"""Rule stratum_metrics: errors per size bin, per element group and overall, with bootstrap CIs."""

import pandas as pd

from workflow_scripts import targets
from workflow_scripts.evaluation import stratum_metrics

from workflow_scripts.files import logs
from workflow_scripts.files.atomic import write_csv
from workflow_scripts.properties import contains

log = logs.from_snakemake(snakemake)
p = snakemake.params
target = targets.target_of(snakemake.config)
pred = pd.read_parquet(snakemake.input.predictions)
histogram = pd.read_csv(snakemake.input.size_histogram)
frequent = set(histogram.loc[histogram["frequent"], "n_atoms"].astype(int))
trained_on = pd.read_parquet(snakemake.input.training_molecules)
if "split" in trained_on.columns:  # the linear reference trains on the whole training split
    trained_on = trained_on[trained_on["split"] == "train"]

by_size = stratum_metrics.metrics_by_size(pred, frequent, p.resamples, p.seed, target=target)
by_size["train_count"] = by_size["group"].map(trained_on["n_atoms"].value_counts()).fillna(0).astype(int)
by_element = stratum_metrics.metrics_by_element(pred, p.resamples, p.seed, target=target)
by_element["train_count"] = [int(contains(trained_on, e).sum()) for e in by_element["group"]]
overall = stratum_metrics.metrics_overall(pred, frequent, p.resamples, p.seed, target=target)
write_csv(by_size, snakemake.output.by_size)
write_csv(by_element, snakemake.output.by_element)
write_csv(overall, snakemake.output.overall)
log.info("overall:\n%s", overall.to_string(index=False))
