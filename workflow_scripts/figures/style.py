"""Shared matplotlib set-up: paper-ready defaults from the ``plots`` config."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: rules run on clusters without a display

import matplotlib.pyplot as plt  # noqa: E402


def figure(plots: dict, width_scale: float = 1.0, height_scale: float = 1.0, **kwargs):
    plt.rcParams.update(
        {
            "font.size": plots["font_size"],
            "axes.titlesize": plots["font_size"] + 1,
            "axes.labelsize": plots["font_size"],
            "legend.fontsize": plots["font_size"] - 1,
            "savefig.dpi": plots["dpi"],
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    return plt.subplots(
        figsize=(plots["width_in"] * width_scale, plots["height_in"] * height_scale), constrained_layout=True, **kwargs
    )


def close(fig) -> None:
    plt.close(fig)
