"""model.representation: SchNetPack's SchNet, PaiNN or SO3net built from the config, scaled, validated, saved and
loaded again."""

import copy
import json

import pytest
import schnetpack as spk
import torch
from snakemake.utils import validate

from tests.unit.tiny_training import SETTINGS, with_representation
from workflow_scripts.config import ConfigError
from workflow_scripts.config.experiments import expand_experiments
from workflow_scripts.config.validation import validate_config
from workflow_scripts.properties import U0
from workflow_scripts.training.model import build_model, load_model, save_model
from workflow_scripts.training.pair_symmetric_schnet import PairSymmetricSchNet

MODEL = {**SETTINGS["model"], "n_atom_basis": 8, "n_interactions": 2}
CLASSES = {"schnet": PairSymmetricSchNet, "painn": spk.representation.PaiNN, "so3net": spk.representation.SO3net}


def tiny_batch():
    """Two small molecules as SchNetPack's input dict, with every pair as neighbors."""
    numbers = torch.tensor([6, 1, 1, 1, 1, 8, 1, 1])
    positions = torch.tensor([[0, 0, 0], [0.63, 0.63, 0.63], [-0.63, -0.63, 0.63], [-0.63, 0.63, -0.63],
                              [0.63, -0.63, -0.63], [0, 0, 0], [0.76, 0.59, 0], [-0.76, 0.59, 0]])
    n_atoms = torch.tensor([5, 3])
    idx_m = torch.repeat_interleave(torch.arange(2), n_atoms)
    pairs = [(i, j) for i in range(8) for j in range(8) if i != j and idx_m[i] == idx_m[j]]
    idx_i, idx_j = (torch.tensor(p) for p in zip(*pairs))
    return {spk.properties.Z: numbers, spk.properties.R: positions.float(), spk.properties.n_atoms: n_atoms,
            spk.properties.idx_m: idx_m, spk.properties.idx_i: idx_i, spk.properties.idx_j: idx_j,
            spk.properties.offsets: torch.zeros(len(pairs), 3)}


@pytest.mark.parametrize("name", ["schnet", "painn", "so3net"])
def test_each_representation_is_schnetpacks_class_and_loads_back(name, tmp_path):
    settings = {**SETTINGS, "model": with_representation(MODEL, name)}
    torch.manual_seed(0)
    model = build_model(settings["model"])
    assert type(model.representation) is CLASSES[name]
    blocks = model.representation.so3convs if name == "so3net" else model.representation.interactions
    assert len(blocks) == 2 and model.representation.embedding.embedding_dim == 8
    model.postprocessors[1].mean = torch.tensor(-4.0, dtype=torch.float64)  # as initialize_transforms leaves it
    model.eval()
    expected = model(tiny_batch())[U0]
    save_model(model, settings, 0, tmp_path / "model.pt")
    loaded, saved = load_model(tmp_path / "model.pt")
    assert type(loaded.representation) is CLASSES[name] and saved["model"]["representation"] == name
    assert torch.equal(loaded(tiny_batch())[U0], expected)


def test_each_representations_own_settings_reach_its_class():
    painn = build_model({**with_representation(MODEL, "painn"), "painn": {"shared_interactions": True,
                                                                         "shared_filters": True}})
    assert painn.representation.filter_net.out_features == 3 * 8  # one filter network for all blocks
    assert painn.representation.interactions[0] is painn.representation.interactions[1]
    so3net = build_model({**with_representation(MODEL, "so3net"), "so3net": {"lmax": 1, "shared_interactions": False}})
    assert so3net.representation.lmax == 1
    schnetpack_schnet = build_model({**MODEL, "implementation": "schnetpack"})
    assert type(schnetpack_schnet.representation) is spk.representation.SchNet


def test_a_model_saved_before_the_key_existed_loads_as_schnet(tmp_path):
    old = {k: v for k, v in SETTINGS["model"].items() if k not in ("representation", "implementation")}
    torch.manual_seed(0)
    model = build_model({**old, "implementation": "schnetpack"})
    torch.save({"state_dict": model.state_dict(), "settings_json": json.dumps({**SETTINGS, "model": old}),
                "seed": 0}, tmp_path / "model.pt")
    loaded, settings = load_model(tmp_path / "model.pt")
    assert type(loaded.representation) is spk.representation.SchNet and settings["model"]["representation"] == "schnet"


def test_the_scale_narrows_every_representation_and_a_run_keeps_only_its_own_settings(base_config):
    config = copy.deepcopy(base_config)
    config["experiments"]["representations"] = {"part": "extra", "sweep": {"model.representation":
                                                                           ["schnet", "painn", "so3net"]}}
    validate_config(config, validate=validate)
    quick = {e["name"]: e["model"] for e in expand_experiments(config) if e["base"] == "representations"}
    for name, model in quick.items():
        assert model["n_atom_basis"] == 32 and model["n_interactions"] == 2, name  # 128 x 0.25, max 2 interactions
    assert set(quick["representations-schnet"]) - set(quick["representations-painn"]) == {"implementation"}
    assert quick["representations-painn"]["painn"] == base_config["defaults"]["model"]["painn"]
    assert "so3net" not in quick["representations-painn"] and "painn" not in quick["representations-so3net"]
    assert "painn" not in quick["representations-schnet"]


@pytest.mark.parametrize("where, value, expected", [
    ("defaults", "schnett", r"defaults.model.representation = 'schnett' is not allowed; expected one of 'schnet', "
                            r"'painn', 'so3net'"),
    ("sweep", "PaiNN", r"experiments.representations sets model.representation = 'PaiNN'; allowed: schnet, painn, "
                       r"so3net"),
])
def test_an_unknown_representation_is_refused_naming_the_key_and_the_choices(base_config, where, value, expected):
    config = copy.deepcopy(base_config)
    if where == "defaults":
        config["defaults"]["model"]["representation"] = value
    else:
        config["experiments"]["representations"] = {"part": "extra", "sweep": {"model.representation": [value]}}
    with pytest.raises(ConfigError, match=expected):
        validate_config(config, validate=validate)
