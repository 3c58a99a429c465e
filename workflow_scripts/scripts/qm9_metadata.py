"""Rule qm9_metadata: QM9 from the configured source -> results/data/qm9.parquet."""

import time

from workflow_scripts.files import logs

from workflow_scripts.data import metadata

log = logs.from_snakemake(snakemake)
start = time.perf_counter()
source, max_molecules = snakemake.params.source, snakemake.params.max_molecules
if source == "qm9pack":
    from workflow_scripts.data.qm9_qm9pack import read_qm9pack

    records = read_qm9pack(max_molecules=max_molecules)
else:
    from workflow_scripts.data.qm9_figshare import read_figshare

    records = read_figshare(snakemake.input.raw[0], max_molecules=max_molecules, progress=log.info)
log.info("parsed %d molecules from %s in %.1f s", len(records), source, time.perf_counter() - start)
metadata.write_metadata(records, snakemake.output.table)
log.info("wrote %s in %.1f s total", snakemake.output.table, time.perf_counter() - start)
