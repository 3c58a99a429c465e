"""A training run's folder, named once: what rule train leaves for the rest of the study, and its working files.

Shared by the rules, the training, the damaged-file checks and the figures, so it sits beside properties.py,
free of heavy imports: they read these names without loading torch.
"""

MODEL = "model.pt"
TRAIN_LOG = "train_log.csv"
VAL_LOG = "val_log.csv"
# what rule train leaves for the rest of the study: output name -> file in the run's folder
RUN_OUTPUTS = {
    "model": MODEL,
    "train_log": TRAIN_LOG,
    "val_log": VAL_LOG,
    "timing": "timing.json",
    "predictions": "predictions.parquet",
    # the best model for SchNetPack's own tools (its ASE calculator, spkpredict)
    "export": "schnetpack/best_model",
    "export_info": "schnetpack/model_info.json",
}

# Working files: checkpoints and the curves as they grow (Snakemake removes a
# failed job's outputs, so they live beside the checkpoints until the end).
CHECKPOINTS = "checkpoints"
LAST = "last.ckpt"
BEST = "best.ckpt"

# Columns that readers of the curves rely on (the figures, the damaged-file checks): the loss and errors in the
# target's units (targets.Target; U0's: mse_eV2, val_mae_meV).
def curve_columns(target=None) -> dict[str, list[str]]:
    from workflow_scripts import targets

    target = target or targets.get(targets.DEFAULT)
    return {
        TRAIN_LOG: ["step", "epoch", "loss_mean", target.mse_column, "lr"],
        VAL_LOG: ["epoch", "step", f"val_{target.mse_column}", target.metric("val_mae")],
    }


CURVE_COLUMNS = curve_columns()  # the thesis study's (U0)


def _any_target(name: str) -> list:
    """``name``'s curve columns where the target is not known (the damaged-file and resume checks): the columns
    named after the target as a tuple of every target's name, any one of which will do."""
    from workflow_scripts.targets import any_target

    return [c if c in ("step", "epoch", "loss_mean", "lr") else any_target(lambda t: curve_columns(t)[name][i])
            for i, c in enumerate(CURVE_COLUMNS[name])]


ANY_TARGET_CURVE_COLUMNS = {name: _any_target(name) for name in CURVE_COLUMNS}
