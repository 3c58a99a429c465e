"""The network follows the target: its output key, aggregation, reference offsets, DipoleMoment for mu."""

import pytest
import schnetpack.transform as trn
import torch
from ase.build import molecule
from schnetpack.interfaces import AtomsConverter

from workflow_scripts.targets import TARGETS
from workflow_scripts.training.model import build_model

MODEL = {"n_atom_basis": 8, "n_interactions": 1, "n_rbf": 8, "data_cutoff": 5.0, "model_cutoff": 5.0,
         "energy_reference": "fitted", "implementation": "schnetpack", "representation": "schnet",
         "painn": {}, "so3net": {}}


def predict(model):
    convert = AtomsConverter(neighbor_list=trn.ASENeighborList(cutoff=5.0), dtype=torch.float32)
    model.eval()
    return model(convert([molecule("H2O"), molecule("CH4")]))


def test_u0_model_is_todays():
    model = build_model(MODEL)
    assert model.output_modules[0].output_key == "energy_U0" and model.output_modules[0].aggregation_mode == "sum"
    assert model.postprocessors[1].add_atomrefs and not model.postprocessors[1].add_mean


@pytest.mark.parametrize("representation", ["schnet", "painn"])
@pytest.mark.parametrize("name", ["G", "gap", "mu"])
def test_each_kind_of_target_predicts_one_value_per_molecule(name, representation):
    target = TARGETS[name]
    model = build_model({**MODEL, "representation": representation}, target=name)
    output = model.output_modules[0]
    if name == "mu":
        assert type(output).__name__ == "Float32DipoleMoment" and output.predict_magnitude  # precision.py
        assert len(model.postprocessors) == 1  # no reference added to a magnitude
    else:
        assert output.aggregation_mode == ("sum" if target.extensive else "avg")
        offsets = model.postprocessors[1]
        assert offsets.is_extensive == target.extensive and offsets.add_atomrefs == target.extensive
    predicted = predict(model)[target.key]
    assert predicted.shape == (2,) and torch.isfinite(predicted).all()
    if name == "mu":
        assert (predicted >= 0).all()
