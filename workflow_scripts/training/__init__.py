"""One experiment with one seed: SchNetPack model, Lightning loop, its data pipelines and exports."""
