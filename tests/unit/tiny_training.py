"""A tiny pool and tiny training settings, shared by the unit tests that train (import the fixtures by name)."""

import pandas as pd
import pytest
import yaml

from tests.conftest import REPO, tiny_pool
from workflow_scripts.representations import OWN_KEYS, keep_own_settings
from workflow_scripts.properties import U0
from workflow_scripts.training import linear_reference
from workflow_scripts.training.task import WeightedTask

SETTINGS = {
    "name": "tiny",
    "model": {"n_atom_basis": 8, "n_interactions": 1, "n_rbf": 8, "data_cutoff": 4.0, "model_cutoff": 4.0,
              "energy_reference": "qm9_atoms", "implementation": "pair_symmetric"},
    "training": {"batch_size": 16, "chunk_size": "auto", "epochs": 2, "lr": 1e-3, "scheduler": None, "ema_decay": None,
                 "sampler": "uniform", "early_stopping_patience": None, "data_pipeline": "schnetpack", "budget": "epochs",
                 "precision": 32},
    "loss": {"weighting": "none", "rate": 0, "alpha": 1.0},
}


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    root = tmp_path_factory.mktemp("pool")
    split, idx, _ = tiny_pool(root, max_molecules=3000, pool_size=150)
    return root, split, idx


PACKED = {**SETTINGS, "training": {**SETTINGS["training"], "data_pipeline": "packed", "epochs": 3}}


def fail_at_step(monkeypatch, step: int, error: BaseException | None = None):
    """Make training_step fail once global_step reaches ``step``: ``error`` raised, or the loss turned NaN."""
    original = WeightedTask.training_step

    def training_step(self, batch, batch_idx):
        if self.global_step >= step:
            if error is not None:
                raise error
            batch = dict(batch)
            batch[U0] = batch[U0] * float("nan")
        return original(self, batch, batch_idx)

    monkeypatch.setattr(WeightedTask, "training_step", training_step)


def steps_per_epoch(idx, batch_size) -> int:
    return -(-len(idx["train"]) // batch_size)


FITTED = {**SETTINGS, "model": {**SETTINGS["model"], "energy_reference": "fitted"},
          "training": {**SETTINGS["training"], "data_pipeline": "packed", "epochs": 2, "budget": "equal_steps",
                       "scheduler": {"kind": "cosine", "warmup_fraction": 0.1, "final_lr_fraction": 0.02},
                       "ema_decay": 0.9}}


@pytest.fixture(scope="module")
def fitted_atomref(pool):
    root, split, idx = pool
    table = pd.read_parquet(root / "qm9.parquet", columns=["gdb_id", "U0", "n_H", "n_C", "n_N", "n_O", "n_F"])
    train_rows = table.set_index("gdb_id").loc[split["gdb_id"].to_numpy()[idx["train"]]].reset_index()
    return linear_reference.atom_energies_by_number(linear_reference.fit(train_rows, intercept=False))


def with_representation(model: dict, name: str) -> dict:
    """``model`` settings for representation ``name``, with its own block as config.yaml's defaults state it."""
    defaults = yaml.safe_load((REPO / "config.yaml").read_text())["defaults"]["model"]
    return keep_own_settings({**{k: defaults[k] for k in OWN_KEYS[name]}, **model, "representation": name})
