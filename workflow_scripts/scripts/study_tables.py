"""Rule study_tables: every run's metrics in one table per stratum kind, the training runs, and Table 2."""

from workflow_scripts import targets
from workflow_scripts.evaluation.study_tables import add_timing, gather, table2, training_runs
from workflow_scripts.files import logs
from workflow_scripts.files.atomic import write_csv

log = logs.from_snakemake(snakemake)
i, o, p = snakemake.input, snakemake.output, snakemake.params
target = targets.target_of(snakemake.config)
write_csv(gather(i.by_size, p.runs, p.parts), o.by_size)
write_csv(gather(i.by_element, p.runs, p.parts), o.by_element)
overall = add_timing(gather(i.overall, p.runs, p.parts), i.timing, p.trained_runs)
write_csv(overall, o.overall)
runs = training_runs(i.timing, i.val_log, i.train_log, p.trained_runs, p.parts, overall, p.convergence, p.failure,
                     p.figures, target=target)
write_csv(runs, o.training_runs)
write_csv(table2(overall, p.final, runs, target=target), o.table2)
log.info("%d of %d training runs converged; %s", int(runs["converged"].sum()), len(runs),
         runs["status"].value_counts().to_dict())
log.info("gathered %d runs", overall[["experiment", "seed"]].drop_duplicates().shape[0])
