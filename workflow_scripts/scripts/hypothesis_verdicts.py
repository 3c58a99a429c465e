"""Rule hypothesis_verdicts: H1-H4 of the study, each with effect size, seed-aware 95 % CI and one decision rule."""

import pandas as pd

from workflow_scripts import targets
from workflow_scripts.files import logs

from workflow_scripts.evaluation import verdicts
from workflow_scripts.evaluation.study_tables import gather, run_statuses
from workflow_scripts.files.atomic import write_csv

log = logs.from_snakemake(snakemake)
p = snakemake.params
target = targets.target_of(snakemake.config)
# the rule names each prediction file's run, in the same order
preds = {tuple(run): pd.read_parquet(path) for run, path in zip(p.runs, snakemake.input.predictions, strict=True)}
overall = gather(snakemake.input.overall, p.runs_with_reference, {})
runs = run_statuses(snakemake.input.val_log, snakemake.input.train_log, p.runs, overall, p.convergence, p.failure,
                    target=target)
train = pd.read_parquet(snakemake.input.baseline_subset)
histogram = pd.read_csv(snakemake.input.size_histogram)
frequent = set(histogram.loc[histogram["frequent"], "n_atoms"].astype(int))
common = dict(n_resamples=p.resamples, seed=p.seed, min_seeds=p.min_seeds, target=target)
results = [
    verdicts.h1_rare_sizes(preds, verdicts.size_counts(train), frequent, experiment=p.baseline, **common),
    verdicts.h2_rare_elements(preds, verdicts.element_counts(train), frequent, experiment=p.baseline, **common),
]
if p.balanced:
    results.append(verdicts.h3_balancing(preds, p.balanced, frequent, baseline=p.baseline, controls=p.controls,
                                         placebo=p.placebo, **common))
for i, targeted in enumerate(p.targeted):
    results.append(verdicts.h4_targeted(preds, targeted, baseline=p.baseline, threshold=p.threshold,
                                        margin=p.margin, placebo=p.placebo if i == 0 else None, **common))
table = verdicts.verdicts_table(results, runs)
write_csv(table, snakemake.output.verdicts)
for row in table.itertuples():
    log.info("%s (%s): %s; %s%s", row.hypothesis, row.comparison, row.verdict, row.explanation,
             f" Failed runs among those compared: {row.failed_runs}." if row.failed_runs else "")
