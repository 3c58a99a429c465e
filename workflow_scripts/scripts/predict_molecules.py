"""Rule predict_molecules: a user's molecules through one trained run, with the study's errors for them."""

import pandas as pd

from workflow_scripts import targets
from workflow_scripts.files import logs
from workflow_scripts.files.atomic import write_csv
from workflow_scripts.files.damage import read_csv, read_parquet
from workflow_scripts.predict.molecules import expected_errors, predict_property, read_molecules
from workflow_scripts.training.model import load_model

log = logs.from_snakemake(snakemake)
inputs = snakemake.input
molecules = read_molecules(inputs.molecules)
model, settings = load_model(inputs.model)
target = targets.of_settings(settings)
predicted = predict_property(model, snakemake.params.data_cutoff, [atoms for _, _, atoms in molecules],
                             key=target.key)
table = expected_errors(molecules, predicted, read_csv(inputs.by_size), read_csv(inputs.by_element),
                        read_parquet(inputs.training_molecules), target)
write_csv(table, snakemake.output.table)
with pd.option_context("display.width", 250, "display.max_columns", 30, "display.max_colwidth", 80):
    log.info("%d molecules, %s seed %s:\n%s", len(table), settings["name"], snakemake.wildcards.seed,
             table.drop(columns=["element_groups"]).to_string(index=False, float_format="%.1f"))
