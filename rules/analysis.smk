# Dataset analysis (thesis §3.2.1): Table 1, Figure 1, Appendix Figure 5.
# Counting and plotting are separate rules so that a plot setting re-runs
# only the plots.


rule dataset_counts:
    input:
        table=rules.qm9_metadata.output.table,
    output:
        element_frequency=reported_table(
            f"{ANALYSIS}/element_frequency.csv", "element_frequency"
        ),
        size_histogram=f"{ANALYSIS}/size_histogram.csv",
        element_size=f"{ANALYSIS}/element_size_counts.csv",
    log:
        f"{QM9_LOGS}/dataset_counts.log",
    benchmark:
        f"{QM9_BENCH}/dataset_counts.tsv"
    conda:
        "../envs/qm9.yaml"
    params:
        frequent_bin_fraction=config["analysis"]["frequent_bin_fraction"],
        captions=table_captions("element_frequency"),
    script:
        "../workflow_scripts/scripts/dataset_counts.py"


rule plot_dataset:
    input:
        element_frequency=rules.dataset_counts.output.element_frequency,
        size_histogram=rules.dataset_counts.output.size_histogram,
        element_size=rules.dataset_counts.output.element_size,
    output:
        size_histogram=reported_figure(SIZE_HISTOGRAM, "size_histogram"),
        heatmap=reported_figure(ELEMENT_SIZE_HEATMAP, "heatmap"),
    log:
        f"{QM9_LOGS}/plot_dataset.log",
    benchmark:
        f"{QM9_BENCH}/plot_dataset.tsv"
    conda:
        "../envs/qm9.yaml"
    params:
        plots=config["plots"],
        frequent_bin_fraction=config["analysis"]["frequent_bin_fraction"],
        titles=figure_facts(
            "title", size_histogram=SIZE_HISTOGRAM, heatmap=ELEMENT_SIZE_HEATMAP
        ),
        captions=figure_facts(
            "caption", size_histogram=SIZE_HISTOGRAM, heatmap=ELEMENT_SIZE_HEATMAP
        ),
    script:
        "../workflow_scripts/scripts/plot_dataset.py"
