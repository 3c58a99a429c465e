"""make cross-study: the study's question asked of several QM9 properties and networks (config ``cross_study``).

Each target x representation is a study of its own (results/<scale>[-<target>][-<representation>]); this runs
Snakemake once per study for its baseline and linear reference, then rule cross_study, which gathers them into
results/cross_study-<scale>/. Snakemake decides what is already done: a study whose baseline exists re-trains
nothing. Any Snakemake option is passed on to every run:

    python -m workflow_scripts.run_cross_study --profile profiles/local --cores 2 [--configfile my.yaml]
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from snakemake.utils import update_config

from workflow_scripts.config.experiments import baseline_seeds, cross_studies, cross_study_files, study_name

REPO = Path(__file__).resolve().parent.parent


def read_config(arguments: list[str]) -> dict:
    """config.yaml with the --configfile overlays among ``arguments`` merged on top, as Snakemake merges them."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    for i, argument in enumerate(arguments):
        if argument == "--configfile":
            for path in arguments[i + 1:]:
                if path.startswith("-"):
                    break
                update_config(config, yaml.safe_load(Path(path).read_text()))
    return config


def flow_value(value) -> str:
    """A --config value as Snakemake reads it (YAML flow style for a mapping)."""
    if not isinstance(value, dict):
        return str(value)
    return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()


def commands(arguments: list[str]) -> list[list[str]]:
    """One Snakemake run per study (its baseline and linear reference), then rule cross_study."""
    config = read_config(arguments)
    snakemake = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), *arguments]
    own, seeds = study_name(config), baseline_seeds(config)
    runs = []
    for study in cross_studies(config):
        # the config's own study runs as `make study` runs it: its overrides are the config's own values
        values = ([] if study["study"] == own else
                  [f"{key}={flow_value(value)}" for key, value in study["overrides"].items()])
        # the config's own study (results/quick): its baseline's files only, as a report of the baseline alone
        # would replace the whole study's report; the others: their baseline's report
        wanted = ([p for paths in cross_study_files(own, seeds).values() for p in ([paths] if isinstance(paths, str)
                                                                                   else paths)]
                  if study["study"] == own else [f"results/{study['study']}/report/report.html"])
        runs.append([*snakemake, "--config", *values, "only_experiments=[baseline]", "--", *wanted])
    return runs + [[*snakemake, "--", "cross_study"]]


def main(arguments: list[str]) -> int:
    for command in commands(arguments):
        print("+", " ".join(command[2:]), flush=True)
        result = subprocess.run(command)
        if result.returncode != 0:
            return result.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
