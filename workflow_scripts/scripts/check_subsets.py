"""Rule check_subsets: every subset can be trained on, before any training starts."""

import pandas as pd

from workflow_scripts import logs
from workflow_scripts.atomic import write_text
from workflow_scripts.subsets import check_trainable, validation_for

log = logs.from_snakemake(snakemake)
p = snakemake.params
split = pd.read_parquet(snakemake.input.split)
lines = []
for name, path in zip(p.subsets, snakemake.input.subsets):
    n_train = len(pd.read_parquet(path, columns=["gdb_id"]))
    n_val = len(validation_for(split, p.definitions[name]))
    users = p.users[name]
    check_trainable(name, n_train, n_val, max(users.values()), sorted(users))
    lines.append(f"{name}: {n_train} training, {n_val} validation molecules; largest batch {max(users.values())}")
    log.info(lines[-1])
write_text(snakemake.output.checked, "\n".join(lines) + "\n")
