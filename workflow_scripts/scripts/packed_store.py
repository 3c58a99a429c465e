"""Rule packed_store: the pool's molecules as contiguous arrays, in split-table order."""

import pandas as pd

from workflow_scripts.files import logs
from workflow_scripts.training.packed_data import build_store

log = logs.from_snakemake(snakemake)
split = pd.read_parquet(snakemake.input.split)
build_store(snakemake.input.table, split["gdb_id"].to_numpy(), snakemake.output.store)
log.info("wrote %s with %d molecules", snakemake.output.store, len(split))
