"""Rule reuse_training: a run identical to another (settings and seed) takes that run's results."""

import json
import shutil

from workflow_scripts.files import logs
from workflow_scripts.files.atomic import atomic_path, write_text

log = logs.from_snakemake(snakemake)
for name, source in snakemake.input.items():
    target = getattr(snakemake.output, name)
    if name in ("timing", "export_info"):
        timing = json.loads(open(source).read())
        write_text(target, json.dumps({**timing, "reused_from": snakemake.params.source}, indent=2))
    else:
        with atomic_path(target) as tmp:
            shutil.copyfile(source, tmp)
log.info("%s has the settings and seed of %s: its results are reused, not trained again",
         snakemake.wildcards.reused_run, snakemake.params.source)
