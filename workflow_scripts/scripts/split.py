"""Rule split: the pool at this scale, its held-out test / validation / training split, and extra test molecules."""

from workflow_scripts.files import logs
from workflow_scripts.files.atomic import write_parquet
from workflow_scripts.data.metadata import read_metadata
from workflow_scripts.data.splits import IN_POOL, held_out_counts, make_split
from workflow_scripts.properties import COUNT_COLUMNS

log = logs.from_snakemake(snakemake)
p = snakemake.params
meta = read_metadata(snakemake.input.table, columns=["gdb_id", "n_atoms", *COUNT_COLUMNS])
# the scale's name only words an error: from the config, not a param (renaming a scale re-splits nothing)
split = make_split(meta, p.pool_size, p.split["test_fraction"], p.split["validation_fraction"], p.split["seed"],
                   test_size=p.test_size, scale=snakemake.config["scale"])
write_parquet(split, snakemake.output.split)
pool = split[split[IN_POOL]]
log.info("pool of %d molecules: %s", len(pool), pool["split"].value_counts().to_dict())
log.info("held-out test set: %d molecules (%d from the pool, %d from outside it)", (split["split"] == "test").sum(),
         (pool["split"] == "test").sum(), (~split[IN_POOL]).sum())
counts = held_out_counts(split)
log.info("test molecules by size: %s", counts["by_size"])
log.info("test molecules by element: %s", counts["by_element"])
