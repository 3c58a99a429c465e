"""Workflow tests: the real Snakefile run by Snakemake on tiny configs (the study, SLURM, interruptions)."""
