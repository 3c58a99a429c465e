"""QM9 acquisition, the metadata table, the held-out split, training subsets, dataset counts."""
