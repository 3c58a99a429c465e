"""The predictions table every model (neural or linear) writes for the test set: the study's target, true and
predicted, in its stored unit (``U0_true_eV``, ``U0_pred_eV``; ``mu_true_D`` ... : targets.Target)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from workflow_scripts import targets
from workflow_scripts.properties import COUNT_COLUMNS
from workflow_scripts.targets import Target

U0 = targets.get(targets.DEFAULT)
ROW_COLUMNS = ["gdb_id", "n_atoms", *COUNT_COLUMNS]


def columns(target: Target = U0) -> list[str]:
    """The table's columns for ``target``."""
    return [*ROW_COLUMNS, target.true_column, target.pred_column]


COLUMNS = columns()  # the thesis study's (U0)


def true_values(metadata_path, gdb_ids, target: Target = U0) -> np.ndarray:
    """``target``'s reference values (stored unit) of the molecules ``gdb_ids``, from the metadata table."""
    table = pq.read_table(metadata_path, columns=["gdb_id", target.name]).to_pandas().set_index("gdb_id")
    return table.loc[np.asarray(gdb_ids), target.name].to_numpy()


def predictions_frame(rows: pd.DataFrame, metadata_path, predicted: np.ndarray, target: Target = U0) -> pd.DataFrame:
    """``rows`` (split rows: gdb_id, n_atoms, element counts) with true and predicted ``target`` (stored unit)."""
    frame = rows[ROW_COLUMNS].reset_index(drop=True).copy()
    frame[target.true_column] = true_values(metadata_path, frame["gdb_id"], target)
    frame[target.pred_column] = np.asarray(predicted, dtype=np.float64)
    if not np.all(np.isfinite(frame[target.pred_column])):
        bad = frame.loc[~np.isfinite(frame[target.pred_column]), "gdb_id"].head(5).tolist()
        raise ValueError(f"non-finite predictions for molecules {bad}; the model diverged: retrain with a lower lr")
    return frame


def target_of_frame(frame: pd.DataFrame) -> Target:
    """The target a predictions table holds, from its ``<name>_true_<unit>`` column."""
    for target in targets.TARGETS.values():
        if target.true_column in frame.columns:
            return target
    raise ValueError(f"a predictions table has no <target>_true_<unit> column; its columns: {list(frame.columns)}")


def mae(frame: pd.DataFrame) -> float:
    """The test MAE of a predictions frame in its target's display unit (meV for energies), as the logs report it."""
    target = target_of_frame(frame)
    return target.factor * float(np.abs(frame[target.pred_column] - frame[target.true_column]).mean())


def mae_text(frame: pd.DataFrame) -> str:
    """'test MAE 196.2 meV' for the logs."""
    return f"test MAE {mae(frame):.4g} {target_of_frame(frame).display_unit}"
