"""Rule download_figshare: the original QM9 deposit, checksummed, with mirror fallback."""

from workflow_scripts.files import logs
from workflow_scripts.data.qm9_figshare import fetch_figshare

log = logs.from_snakemake(snakemake)
p = snakemake.params
fetch_figshare(
    snakemake.output[0],
    mirrors=p.mirrors,
    checksums=p.checksums,
    retries=p.retries,
    timeout=p.timeout_s,
    progress=log.info,
)
