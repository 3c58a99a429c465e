"""Rule atoms_database: SchNetPack's ASE database of the pool, in split-table order."""

import pandas as pd

from workflow_scripts import targets
from workflow_scripts.files import logs
from workflow_scripts.training.atoms_database import build_database

log = logs.from_snakemake(snakemake)
split = pd.read_parquet(snakemake.input.split)
build_database(snakemake.input.table, split, snakemake.output.db, log=log.info,
               target=targets.target_of(snakemake.config))
log.info("wrote %s with %d molecules", snakemake.output.db, len(split))
