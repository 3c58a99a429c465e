# QM9 acquisition, then the study's molecules: the chosen source becomes one
# cached Parquet table, the one held-out split and the training subsets.


rule download_figshare:
    output:
        directory(f"{QM9_RESULTS}/data/raw/figshare"),
    log:
        f"{QM9_LOGS}/download_figshare.log",
    benchmark:
        f"{QM9_BENCH}/download_figshare.tsv"
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
        table=f"{QM9_RESULTS}/data/qm9.parquet",
    log:
        f"{QM9_LOGS}/qm9_metadata.log",
    benchmark:
        f"{QM9_BENCH}/qm9_metadata.tsv"
    conda:
        "../envs/qm9.yaml"
    params:
        source=config["data"]["source"],
        max_molecules=config["data"]["max_molecules"],
    script:
        "../workflow_scripts/scripts/qm9_metadata.py"


rule split:
    input:
        table=rules.qm9_metadata.output.table,
    output:
        split=SPLIT,
    log:
        f"{LOGS}/split.log",
    benchmark:
        f"{BENCH}/split.tsv"
    conda:
        "../envs/qm9.yaml"
    params:
        pool_size=SCALE["pool_size"],
        test_size=SCALE["test_size"],
        split=config["split"],
    script:
        "../workflow_scripts/scripts/split.py"


rule subset:
    input:
        table=rules.qm9_metadata.output.table,
        split=SPLIT,
        # a random control matches the size of the subset it names, as drawn
        same_size_as=same_size_subset,
    output:
        subset=SUBSET,
        counts=SUBSET_SIZE_COUNTS,
    log:
        f"{LOGS}/subset_{{subset}}.log",
    benchmark:
        f"{BENCH}/subset_{{subset}}.tsv"
    # subsets are checked early: before the database, so before any training
    priority: 10
    conda:
        "../envs/qm9.yaml"
    params:
        definition=lambda w: config["subsets"][w.subset],
        seed=config["split"]["seed"],
    script:
        "../workflow_scripts/scripts/subset.py"
