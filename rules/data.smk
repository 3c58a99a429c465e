# QM9 acquisition: the chosen source becomes one cached Parquet table.


rule download_figshare:
    output:
        directory(f"{RESULTS}/data/raw/figshare"),
    log:
        f"{LOGS}/download_figshare.log",
    benchmark:
        f"{BENCH}/download_figshare.tsv"
    retries: 1
    conda:
        "../envs/qm9.yaml"
    params:
        mirrors=config["data"]["figshare"]["mirrors"],
        checksums=config["data"]["figshare"]["checksums"],
        retries=config["data"]["figshare"]["retries"],
        timeout_s=config["data"]["figshare"]["timeout_s"],
    script:
        "../workflow_scripts/scripts/download_figshare.py"


rule qm9_metadata:
    input:
        raw=raw_source_input,
    output:
        table=f"{RESULTS}/data/qm9.parquet",
    log:
        f"{LOGS}/qm9_metadata.log",
    benchmark:
        f"{BENCH}/qm9_metadata.tsv"
    conda:
        "../envs/qm9.yaml"
    params:
        source=config["data"]["source"],
        max_molecules=config["data"]["max_molecules"],
    script:
        "../workflow_scripts/scripts/qm9_metadata.py"
