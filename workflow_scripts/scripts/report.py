"""Rule report: results/report/report.html, figures, tables and verdicts in one file."""

from pathlib import Path

from workflow_scripts.files import logs
from workflow_scripts.report.sections import build

log = logs.from_snakemake(snakemake)
p = snakemake.params
build(Path(snakemake.output.report).parents[1], snakemake.output.report, p.scale, p.scale_settings, p.experiments, p.final,
      p.budget_rule, p.min_seeds, p.convergence)
log.info("wrote %s", snakemake.output.report)
