"""Rule linear_reference: least squares of the study's target on element counts, fitted on the training split."""

import json

import pandas as pd

from workflow_scripts import targets
from workflow_scripts.evaluation.predictions import mae_text, predictions_frame, true_values
from workflow_scripts.files import logs
from workflow_scripts.files.atomic import write_parquet, write_text
from workflow_scripts.training import linear_reference

log = logs.from_snakemake(snakemake)
target = targets.target_of(snakemake.config)
split = pd.read_parquet(snakemake.input.split)
train = split[split["split"] == "train"]
train = train.assign(**{target.name: true_values(snakemake.input.table, train["gdb_id"], target)})
model = linear_reference.fit(train, target.name)
test = split[split["split"] == "test"]
frame = predictions_frame(test, snakemake.input.table, model.predict(test), target)
write_parquet(frame, snakemake.output.predictions)
write_text(snakemake.output.coefficients, json.dumps(model.to_dict(target.stored_tag), indent=2))
log.info("linear reference of %s fitted on %d molecules; %s", target.name, len(train), mae_text(frame))
