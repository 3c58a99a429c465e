"""``training.precision``: which parts of a training run in which floating-point format, and why.

``32`` (the default): float32 throughout, as before the setting existed (on a GPU too: TF32 stays off, so float32
matmuls are exact float32 and a run's numbers do not depend on the GPU's generation).

``bf16-mixed``: Lightning's ``precision="bf16-mixed"``, which runs each training and validation step under
``torch.autocast`` with bfloat16 (8-bit mantissa, float32's range) on the CPU and on CUDA. The weights, their
gradients, Adam's state, the moving average and the checkpoints stay float32; autocast computes chosen operations
from bfloat16 copies. In this model:

- bfloat16: the pair-symmetric SchNet's filter network (two dense layers over every atom pair: most of a step's
  work), its cutoff product and each pair's message (pair_symmetric_schnet.py). With SchNetPack's own forward
  (``model.implementation: schnetpack``), autocast's own choice: every dense layer of the representation, the
  pair products and sums then promoted to float32 by the float32 cutoff.
- float32: distances, the Gaussian radial basis and the cosine cutoff (elementwise, outside autocast's lists),
  the embedding, the per-atom dense layers, each atom's sum of messages and the residual updates; the output
  head and its per-molecule sum (``Float32Atomwise``: a molecule's energy is a sum of per-atom terms, and
  bfloat16 would round each term at 0.4 %; for the dipole moment ``Float32DipoleMoment``, its latent charges and
  their sum over atoms likewise); the loss and its weights.
- float64: the energy reference added back to the network's output (``CastTo64``, ``AddOffsets``: totals of
  about -10^4 eV that float32 would round by meV). They are postprocessors: predictions only.

Predictions (the held-out test set, ``predict``) and the SchNetPack export always run and are written in float32,
whatever the training's precision: autocast is on only inside Lightning's steps.

On CUDA, ``bf16-mixed`` also lets the float32 matmuls that remain use TF32 (``float32_matmuls``), for the run's
training only; predictions are exact float32 again.
"""

from __future__ import annotations

from contextlib import contextmanager

import schnetpack as spk
import torch

import schnetpack.properties as props

FLOAT32, BF16_MIXED = 32, "bf16-mixed"
LIGHTNING_PRECISION = {FLOAT32: "32-true", BF16_MIXED: "bf16-mixed"}


def lightning_precision(setting) -> str:
    """Lightning Trainer's ``precision`` for ``training.precision``."""
    try:
        return LIGHTNING_PRECISION[setting]
    except KeyError:
        raise ValueError(f"training.precision = {setting!r} is not one of {list(LIGHTNING_PRECISION)}") from None


@contextmanager
def float32_matmuls(setting, device: torch.device):
    """TF32 for float32 matmuls on CUDA while a ``bf16-mixed`` run trains; exact float32 otherwise and afterwards."""
    if setting != BF16_MIXED or device.type != "cuda":
        yield
        return
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(before)


class Float32Atomwise(spk.atomistic.Atomwise):
    """SchNetPack's ``Atomwise`` (same arguments and parameters), computed in float32 under autocast.

    Its per-atom energies and their per-molecule sum are the model's output: in bfloat16 each would be rounded
    at 0.4 % of its size. Per atom, not per pair, it is a small part of a step. Without autocast it is
    ``Atomwise`` exactly; the SchNetPack export turns it back into ``Atomwise`` (export.py).
    """

    def forward(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        with torch.autocast(inputs[props.Z].device.type, enabled=False):
            return super().forward(inputs)


class Float32DipoleMoment(spk.atomistic.DipoleMoment):
    """SchNetPack's ``DipoleMoment`` computed in float32 under autocast, for the reason ``Float32Atomwise`` gives:
    the moment is a sum over atoms of charge times position. The export turns it back into ``DipoleMoment``."""

    def forward(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        with torch.autocast(inputs[props.Z].device.type, enabled=False):
            return super().forward(inputs)


# the float32 output modules and SchNetPack's class each one is (the export writes SchNetPack's)
FLOAT32_OUTPUTS = {Float32Atomwise: spk.atomistic.Atomwise, Float32DipoleMoment: spk.atomistic.DipoleMoment}
