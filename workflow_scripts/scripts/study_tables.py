"""Rule study_tables: every run's metrics in one table per stratum kind, and Table 2."""

from workflow_scripts.files import logs
from workflow_scripts.files.atomic import write_csv
from workflow_scripts.figures.study import table2
from workflow_scripts.evaluation.study_tables import add_timing, gather, training_runs

log = logs.from_snakemake(snakemake)
parts = snakemake.params.parts
i, o = snakemake.input, snakemake.output
write_csv(gather(i.by_size, parts), o.by_size)
write_csv(gather(i.by_element, parts), o.by_element)
overall = add_timing(gather(i.overall, parts), i.timing)
write_csv(overall, o.overall)
write_csv(table2(overall, snakemake.params.final), o.table2)
runs = training_runs(i.timing, i.val_log, parts, **snakemake.params.convergence)
write_csv(runs, o.training_runs)
log.info("%d of %d training runs converged", int(runs["converged"].sum()), len(runs))
log.info("gathered %d runs", overall[["experiment", "seed"]].drop_duplicates().shape[0])
