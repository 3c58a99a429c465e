# Config validation and everything derived from the config.

import sys

# Snakemake hands this process's sys.path to rule scripts, so they (and this
# file) import workflow_scripts from the workflow's folder, in cluster jobs too.
sys.path.insert(0, workflow.basedir)

from workflow_scripts.config import validate_config, scale_settings
from snakemake.utils import validate

validate_config(config, validate=validate)

SCALE = scale_settings(config)
RESULTS = "results"
LOGS = f"{RESULTS}/logs"
BENCH = f"{RESULTS}/benchmarks"
ANALYSIS = f"{RESULTS}/analysis"


def raw_source_input(wildcards):
    if config["data"]["source"] == "figshare":
        return rules.download_figshare.output
    return []


def analysis_outputs():
    return [
        *rules.dataset_counts.output,
        *rules.plot_dataset.output,
    ]
