"""Rule linear_reference: least squares of U0 on element counts, fitted on the training split."""

import json

import pandas as pd

from workflow_scripts.training import linear_reference

from workflow_scripts.files import logs
from workflow_scripts.files.atomic import write_parquet, write_text
from workflow_scripts.evaluation.predictions import mae_meV, predictions_frame, true_u0

log = logs.from_snakemake(snakemake)
split = pd.read_parquet(snakemake.input.split)
train = split[split["split"] == "train"].assign(U0=lambda f: true_u0(snakemake.input.table, f["gdb_id"]))
model = linear_reference.fit(train)
test = split[split["split"] == "test"]
frame = predictions_frame(test, snakemake.input.table, model.predict(test))
write_parquet(frame, snakemake.output.predictions)
write_text(snakemake.output.coefficients, json.dumps(model.to_dict(), indent=2))
log.info("linear reference fitted on %d molecules; test MAE %.1f meV", len(train),
         mae_meV(frame))
