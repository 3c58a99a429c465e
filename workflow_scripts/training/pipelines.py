"""The data pipeline a training reads its pool through, ``training.data_pipeline``; this module alone reads it.

``packed``: the pool as a few flat arrays (``pool.npz``), neighbor lists built per batch on the training device
(packed_data.py). ``schnetpack``: SchNetPack's ASE database (``pool.db``), AtomsDataModule and per-molecule
transforms (schnetpack_data.py). Both give the same batches. The Snakefile imports this module to pick a run's
pool file, so torch and SchNetPack are imported only where a data module or a prediction is made.
"""

from __future__ import annotations

PACKED, SCHNETPACK = "packed", "schnetpack"


def reads_packed_store(training: dict) -> bool:
    """True for the packed pipeline, False for SchNetPack's."""
    return training["data_pipeline"] == PACKED


def pool_file(training: dict, packed_store, database):
    """The pool file a run with these training settings reads: ``packed_store`` or SchNetPack's ``database``."""
    return packed_store if reads_packed_store(training) else database


def data_module(pool_file, settings: dict, idx: dict, weights, seed: int, atomref=None, work_dir=None):
    """The run's Lightning data module over ``pool_file``; ``work_dir`` takes SchNetPack's split file."""
    from workflow_scripts import targets

    training, data_cutoff = settings["training"], settings["model"]["data_cutoff"]
    stratified = training["sampler"] == "stratified_by_size"
    target = targets.of_settings(settings)
    if reads_packed_store(training):
        from workflow_scripts.training.packed_data import PackedDataModule

        return PackedDataModule(_store(pool_file, target), idx, weights, training["batch_size"], data_cutoff, seed,
                                fitted_atomref=atomref, stratified=stratified)
    from workflow_scripts.training import schnetpack_data

    return schnetpack_data.data_module(pool_file, work_dir, idx, training["batch_size"], data_cutoff, weights,
                                       atomref=atomref, stratified=stratified, target=target)


def _store(pool_file, target):
    """The packed store, checked to hold the run's target (each study's folder has its own store)."""
    from workflow_scripts.training.packed_data import load_store

    store = load_store(pool_file)
    if store.spec != target:
        raise ValueError(f"{pool_file} holds {store.spec.name}, but the run learns {target.name}: remove the file "
                         "and run snakemake again to rebuild it")
    return store


def predict(model, settings: dict, pool_file, rows):
    """The predicted target (stored unit: U0 in eV) of the pool molecules ``rows``, in that order."""
    if reads_packed_store(settings["training"]):
        from workflow_scripts import targets
        from workflow_scripts.training import packed_data

        store = _store(pool_file, targets.of_settings(settings))
        return packed_data.predict(model, store, rows, settings["model"]["data_cutoff"])
    from workflow_scripts.training import schnetpack_data

    return schnetpack_data.predict(model, settings, pool_file, rows)
