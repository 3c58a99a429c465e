"""Rule report: results/<study>/report/report.html, figures, tables and verdicts in one file."""

from workflow_scripts import targets
from workflow_scripts.files import logs
from workflow_scripts.report.sections import TABLE_INPUTS, build
from workflow_scripts.report.settings import thesis_settings

log = logs.from_snakemake(snakemake)
i, p = snakemake.input, snakemake.params
figures = [(path, caption, section) for path, (caption, section) in zip(i.figures, p.figures, strict=True)]
build(snakemake.output.report, figures, {name: getattr(i, name) for name in TABLE_INPUTS}, p.scale, p.scale_settings,
      p.experiments, p.final, p.budget_rule, p.min_seeds, p.convergence,
      thesis_settings(p.thesis_defaults, p.test_fraction), target=targets.target_of(snakemake.config))
log.info("wrote %s", snakemake.output.report)
