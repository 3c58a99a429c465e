"""The predictions table every model (neural or linear) writes for the test set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from workflow_scripts.properties import COUNT_COLUMNS, EV_TO_MEV

COLUMNS = ["gdb_id", "n_atoms", *COUNT_COLUMNS, "U0_true_eV", "U0_pred_eV"]


def true_u0(metadata_path, gdb_ids) -> np.ndarray:
    table = pq.read_table(metadata_path, columns=["gdb_id", "U0"]).to_pandas().set_index("gdb_id")
    return table.loc[np.asarray(gdb_ids), "U0"].to_numpy()


def predictions_frame(rows: pd.DataFrame, metadata_path, predicted_ev: np.ndarray) -> pd.DataFrame:
    """``rows`` (split rows: gdb_id, n_atoms, element counts) with true and predicted U0 in eV."""
    frame = rows[COLUMNS[:-2]].reset_index(drop=True).copy()
    frame["U0_true_eV"] = true_u0(metadata_path, frame["gdb_id"])
    frame["U0_pred_eV"] = np.asarray(predicted_ev, dtype=np.float64)
    if not np.all(np.isfinite(frame["U0_pred_eV"])):
        bad = frame.loc[~np.isfinite(frame["U0_pred_eV"]), "gdb_id"].head(5).tolist()
        raise ValueError(f"non-finite predictions for molecules {bad}; the model diverged: retrain with a lower lr")
    return frame


def mae_meV(frame: pd.DataFrame) -> float:
    """The test MAE of a predictions frame in meV, as the rule logs report it."""
    return EV_TO_MEV * float(np.abs(frame["U0_pred_eV"] - frame["U0_true_eV"]).mean())
