"""Rule subset: one training subset of the training split."""

import pandas as pd
import pyarrow.parquet as pq

from workflow_scripts.files import logs
from workflow_scripts.files.atomic import write_csv, write_parquet
from workflow_scripts.data.splits import IN_POOL
from workflow_scripts.data.subsets import cap_for_pool, check_not_empty, select, size_counts, validation_for

log = logs.from_snakemake(snakemake)
definition = snakemake.params.definition
split = pd.read_parquet(snakemake.input.split)
# caps shrink with the pool, which the extra test molecules are no part of (the column is taken out: subset
# tables keep the columns they had)
pool = int(split.pop(IN_POOL).sum())
cap = None
if "cap_per_size" in definition:
    all_molecules = pq.read_metadata(snakemake.input.table).num_rows
    cap = cap_for_pool(definition["cap_per_size"], pool, all_molecules)
    log.info("cap %d per size (config %d for %d molecules; pool %d)", cap, definition["cap_per_size"],
             all_molecules, pool)
subset = select(split, definition, seed=snakemake.params.seed, cap=cap)
check_not_empty(snakemake.wildcards.subset, len(subset), len(validation_for(split, definition)))
write_parquet(subset, snakemake.output.subset)
counts = size_counts(subset)
counts["cap"] = cap
write_csv(counts, snakemake.output.counts)
log.info("subset %s: %d training molecules", snakemake.wildcards.subset, len(subset))
