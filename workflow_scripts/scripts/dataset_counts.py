"""Rule dataset_counts: Table 1 and the counts behind Figure 1 and Appendix Figure 5."""

from workflow_scripts.data import dataset_counts

from workflow_scripts.files import logs
from workflow_scripts.files.atomic import write_csv
from workflow_scripts.data.metadata import read_metadata
from workflow_scripts.properties import COUNT_COLUMNS

log = logs.from_snakemake(snakemake)
meta = read_metadata(snakemake.input.table, columns=["gdb_id", "n_atoms", *COUNT_COLUMNS])
out = snakemake.output
frequency = dataset_counts.element_frequency(meta)
write_csv(frequency, out.element_frequency)
histogram = dataset_counts.size_histogram(meta, snakemake.params.frequent_bin_fraction)
write_csv(histogram, out.size_histogram)
write_csv(dataset_counts.element_size_counts(meta), out.element_size)
log.info("element presence:\n%s", frequency.to_string(index=False))
log.info("frequent sizes: %s", histogram.loc[histogram["frequent"], "n_atoms"].tolist())
