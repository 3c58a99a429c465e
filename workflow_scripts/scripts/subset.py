"""Rule subset: one training subset of the training split."""

import pandas as pd
import pyarrow.parquet as pq

from workflow_scripts.files import logs
from workflow_scripts.files.atomic import write_csv, write_parquet
from workflow_scripts.data.splits import IN_POOL
from workflow_scripts.data.subsets import check_not_empty, draw, size_counts, validation_for

log = logs.from_snakemake(snakemake)
definition = snakemake.params.definition
split = pd.read_parquet(snakemake.input.split)
all_molecules = pq.read_metadata(snakemake.input.table).num_rows
# a same_size_as subset matches the molecules its subset actually holds, as drawn at this scale
same_size = len(pd.read_parquet(snakemake.input.same_size_as)) if "same_size_as" in definition else None
subset, cap = draw(split, definition, seed=snakemake.params.seed, all_molecules=all_molecules, same_size=same_size)
subset = subset.drop(columns=IN_POOL)  # subset tables keep the columns they had
if cap is not None:
    log.info("cap %d per size (config %d for %d molecules; pool %d)", cap, definition["cap_per_size"],
             all_molecules, int(split[IN_POOL].sum()))
if same_size is not None:
    log.info("random, as many molecules as subset %s: %d", definition["same_size_as"], same_size)
check_not_empty(snakemake.wildcards.subset, len(subset), len(validation_for(split, definition)))
write_parquet(subset, snakemake.output.subset)
counts = size_counts(subset)
counts["cap"] = cap
write_csv(counts, snakemake.output.counts)
log.info("subset %s: %d training molecules", snakemake.wildcards.subset, len(subset))
