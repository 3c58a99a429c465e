"""Rule split: the pool at this scale and its held-out test / validation / training split."""

from workflow_scripts.files import logs
from workflow_scripts.files.atomic import write_parquet
from workflow_scripts.data.metadata import read_metadata
from workflow_scripts.data.splits import make_split
from workflow_scripts.properties import COUNT_COLUMNS

log = logs.from_snakemake(snakemake)
p = snakemake.params
meta = read_metadata(snakemake.input.table, columns=["gdb_id", "n_atoms", *COUNT_COLUMNS])
split = make_split(meta, p.pool_size, p.split["test_fraction"], p.split["validation_fraction"], p.split["seed"])
write_parquet(split, snakemake.output.split)
log.info("pool of %d molecules: %s", len(split), split["split"].value_counts().to_dict())
