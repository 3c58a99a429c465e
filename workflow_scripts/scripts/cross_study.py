"""Rule cross_study: every property x network's baseline by size and element, in one table and one figure."""

import pandas as pd

from workflow_scripts.evaluation.cross_study import cross_study_table, study_rows
from workflow_scripts.figures.cross_study import plot_cross_study
from workflow_scripts.files import logs
from workflow_scripts.files.atomic import write_csv

log = logs.from_snakemake(snakemake)
p = snakemake.params
rows = []
for study in p.studies:
    files = {kind: snakemake.input[f"{study['study']}_{kind}"] for kind in ("by_size", "by_element", "reference")}
    rows.append(study_rows(study["target"], study["representation"], study["study"],
                           {"size": [pd.read_csv(f) for f in files["by_size"]],
                            "element": [pd.read_csv(f) for f in files["by_element"]]},
                           pd.read_csv(files["reference"]), p.seeds))
table = cross_study_table(rows)
write_csv(table, snakemake.output.table)
plot_cross_study(table, p.plots, snakemake.output.figure)
for (target, representation), group in table[table["stratum"] == "element"].groupby(["target", "representation"],
                                                                                    sort=False):
    log.info("%s with %s: relative MAE by element %s", target, representation,
             ", ".join(f"{g} {v:.3f}" for g, v in zip(group["group"], group["relative_mae"])))
