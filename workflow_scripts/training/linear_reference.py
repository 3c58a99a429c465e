"""A reference baseline with no network and no training loop: the study's target linear in the element counts.

target ~ intercept + sum over elements of coefficient * count, fitted by least
squares on the training molecules only, in the target's stored unit (U0: eV).
Most of U0 is the sum of per-atom energies, so this is the floor any learned
model must beat by a wide margin, and it shows which part of a model's
per-stratum error is plain composition; for an intensive property (the gap) it
shows how much composition alone explains.

An element absent from the training molecules (say, no F in a small subset)
gets coefficient 0: the data say nothing about it, and 0 keeps predictions
finite. Any remaining degeneracy (e.g. every training molecule has the same
number of C) is resolved by numpy's minimum-norm least-squares solution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workflow_scripts.properties import ATOMIC_NUMBERS, COUNT_COLUMNS, ELEMENTS, ZMAX


@dataclass(frozen=True)
class LinearReference:
    """Fitted coefficients (stored unit per atom of each element: eV for U0) and intercept (stored unit)."""

    coefficients: dict[str, float]
    intercept: float

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        """The target (stored unit) of each row of ``df`` from its ``n_H`` .. ``n_F`` columns."""
        counts = df[list(COUNT_COLUMNS)].to_numpy(dtype=float)
        return self.intercept + counts @ np.array([self.coefficients[e] for e in ELEMENTS])

    def to_dict(self, unit_tag: str = "eV") -> dict:
        """The coefficients, named with the stored unit (``coefficients_eV``; ``coefficients_D`` for mu)."""
        return {f"coefficients_{unit_tag}": dict(self.coefficients), f"intercept_{unit_tag}": self.intercept}

    @classmethod
    def from_dict(cls, data: dict, unit_tag: str = "eV") -> LinearReference:
        coefficients = data[f"coefficients_{unit_tag}"]
        return cls({e: float(coefficients[e]) for e in ELEMENTS}, float(data[f"intercept_{unit_tag}"]))


def fit(train_df: pd.DataFrame, target: str = "U0", intercept: bool = True) -> LinearReference:
    """Least-squares fit of the column ``target`` (stored unit; the metadata table's ``U0`` by default) on the
    element counts.

    ``intercept=False`` gives per-element energies only (U0 ~ sum of atom energies): the fitted atom
    references a SchNet model adds to its output (``model.energy_reference: fitted``).
    """
    if len(train_df) == 0:
        raise ValueError("cannot fit the linear reference on no molecules")
    counts = train_df[list(COUNT_COLUMNS)].to_numpy(dtype=float)
    present = counts.any(axis=0)
    columns = [np.ones(len(counts))] if intercept else []
    design = np.column_stack(columns + [counts[:, present]])
    solution, *_ = np.linalg.lstsq(design, train_df[target].to_numpy(dtype=float), rcond=None)
    coefficients = dict.fromkeys(ELEMENTS, 0.0)
    coefficients.update(zip([e for e, p in zip(ELEMENTS, present) if p], map(float, solution[int(intercept):])))
    return LinearReference(coefficients, float(solution[0]) if intercept else 0.0)


def atom_energies_by_number(reference: LinearReference, zmax: int = ZMAX) -> np.ndarray:
    """The per-element coefficients (eV) indexed by atomic number: SchNetPack's atomref layout."""
    atomref = np.zeros(zmax)
    for symbol, value in reference.coefficients.items():
        atomref[ATOMIC_NUMBERS[symbol]] = value
    return atomref


def reference_molecules(split: pd.DataFrame, subset: pd.DataFrame, model_settings: dict) -> pd.DataFrame:
    """The training molecules a fitted energy reference is fitted on: the experiment's own subset, or every
    training molecule of the split (``model.energy_reference_molecules: training_split``, the baseline's
    reference: H4 compares targeted training with the baseline at the same reference)."""
    if model_settings.get("energy_reference_molecules", "subset") == "training_split":
        return split[split["split"] == "train"]
    return subset
