"""Rule learning_curve: test MAE against training molecules, of the baseline on fractions of the training set and of
the caps and their random controls (results/<study>/tables/learning_curve.csv)."""

from workflow_scripts import targets
from workflow_scripts.evaluation.learning_curve import learning_curve, training_sizes
from workflow_scripts.evaluation.study_tables import gather
from workflow_scripts.files import logs
from workflow_scripts.files.atomic import write_csv

log = logs.from_snakemake(snakemake)
i, p = snakemake.input, snakemake.params
table = learning_curve(gather(i.overall, p.runs, {}), gather(i.by_size, p.runs, {}), training_sizes(i.timing, p.runs),
                       [tuple(arm) for arm in p.arms], p.subsets, target=targets.target_of(snakemake.config))
write_csv(table, snakemake.output.learning_curve)
log.info("learning curve: %d experiments", table["experiment"].nunique())
