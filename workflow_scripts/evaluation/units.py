"""How the evaluation, figures and report name and write the study's target (workflow_scripts/targets.py): its
metric columns, their interval columns, the labels of axes and table headers, and the decimals of its numbers.

The thesis's study learns U0 alone, so its labels name no property ("test MAE (meV)"); they stay so, and so do its
files. Any other target names its symbol beside the measure ("test MAE of μ (D)"), so no figure or table of a
dipole-moment study reads as if it were about energies.
"""

from __future__ import annotations

from workflow_scripts import targets
from workflow_scripts.targets import Target

DEFAULT_TARGET = targets.get(targets.DEFAULT)  # what library functions assume unless told: the thesis's U0


def ci_columns(metric: str) -> tuple[str, str]:
    """The bootstrap interval columns of a metric column: ``mae_meV`` -> (``mae_ci_low_meV``, ``mae_ci_high_meV``)."""
    prefix, unit = metric.split("_", 1)
    return f"{prefix}_ci_low_{unit}", f"{prefix}_ci_high_{unit}"


def squared_tag(target: Target) -> str:
    """The squared stored unit as column names end: ``eV2`` (``mse_eV2``), ``D2``."""
    return target.mse_column.removeprefix("mse_")


def val_mae(target: Target) -> str:
    """The validation log's MAE column (val_log.csv, display unit): ``val_mae_meV`` for U0, ``val_mae_D``."""
    return f"val_{target.metric('mae')}"


def is_default(target: Target) -> bool:
    return target.name == targets.DEFAULT


def label(target: Target, measure: str, rest: str = "", squared: bool = False) -> str:
    """A measure of the target with its unit, for axes and table headers: ``label(t, "test MAE")`` is 'test MAE
    (meV)' for U0 (unnamed, see the module text) and 'test MAE of μ (D)' for the dipole moment; ``rest`` follows
    the name ('MAE of μ at worst size (D)'); ``squared``: the MSE's unit, the stored unit squared ('eV²')."""
    named = "" if is_default(target) else f" of {target.symbol}"
    return f"{measure}{named}{rest} ({target.squared_unit if squared else target.display_unit})"


def decimals(unit: str) -> int:
    """Decimals of an error written in ``unit`` (a display unit): 1 for meV, as the U0 study always wrote them;
    3 for the other units, whose test MAEs lie near 0.01 to 1 (μ in D, α in Bohr³, Cv), where one decimal would
    write most errors and every difference as 0.0."""
    return 1 if unit == "meV" else 3
