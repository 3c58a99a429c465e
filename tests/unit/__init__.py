"""Unit tests: one module of workflow_scripts (or one document) at a time, no Snakemake run of the whole DAG."""
