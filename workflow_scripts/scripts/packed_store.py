"""Rule packed_store: the pool's molecules as contiguous arrays, in split-table order."""

import pandas as pd

from workflow_scripts import targets
from workflow_scripts.files import logs
from workflow_scripts.training.packed_data import build_store

log = logs.from_snakemake(snakemake)
split = pd.read_parquet(snakemake.input.split)
target = targets.target_of(snakemake.config)
build_store(snakemake.input.table, split["gdb_id"].to_numpy(), snakemake.output.store, target)
log.info("wrote %s with %d molecules and %s (%s)", snakemake.output.store, len(split), target.name, target.unit)
