"""The networks `model.representation` names: SchNetPack 2.2.0's own representation classes, and which settings
belong to each (read at parse time too, so no torch here; training/model.py builds them)."""

from __future__ import annotations

# config name -> SchNetPack's class name (schnetpack.representation.<name>), also the report's word for it
LABELS = {"schnet": "SchNet", "painn": "PaiNN", "so3net": "SO3net"}
DEFAULT = "schnet"  # models saved before `model.representation` existed are SchNet

# The model keys that hold one representation's own settings; every other model key (width, interactions,
# radial basis, cutoffs, energy reference) applies to all of them. `implementation` picks SchNet's forward.
OWN_KEYS = {"schnet": ("implementation",), "painn": ("painn",), "so3net": ("so3net",)}


def name_of(model: dict) -> str:
    return model.get("representation", DEFAULT)


def label(model: dict) -> str:
    """'SchNet', 'PaiNN' or 'SO3net' for a run's model settings."""
    return LABELS[name_of(model)]


def keep_own_settings(model: dict) -> dict:
    """``model`` without the other representations' settings (in place): a PaiNN run's settings hold no SchNet
    implementation or SO3net block, so runs that train alike have equal settings."""
    own = name_of(model)
    for name, keys in OWN_KEYS.items():
        if name != own:
            for key in keys:
                model.pop(key, None)
    return model
