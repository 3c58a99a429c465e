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

# Columns that readers of the curves rely on (the figures, the damaged-file checks).
CURVE_COLUMNS = {
    TRAIN_LOG: ["step", "epoch", "loss_mean", "mse_eV2", "lr"],
    VAL_LOG: ["epoch", "step", "val_mse_eV2", "val_mae_meV"],
}
