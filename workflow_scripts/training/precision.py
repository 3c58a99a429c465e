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

bf16-mixed is faster only where the hardware computes bfloat16: CUDA GPUs from Ampere on, and CPUs with bfloat16
instructions (``CPU_BF16_FLAGS``). Elsewhere PyTorch converts every bfloat16 value to float32 and back in
software, and a step is no faster than in float32 or several times slower (0.12x on an AVX2 CPU: docs/benchmarks.md). A
training asked to run so says it in its log (``bf16_hardware``, ``slow_bf16_warning``); it still trains, in the
precision the config states, since the precision is part of the run's settings and its numbers.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import schnetpack as spk
import torch

import schnetpack.properties as props

FLOAT32, BF16_MIXED = 32, "bf16-mixed"
LIGHTNING_PRECISION = {FLOAT32: "32-true", BF16_MIXED: "bf16-mixed"}
# /proc/cpuinfo's names of bfloat16 arithmetic: x86's AVX-512 BF16, AMX and AVX-NE-CONVERT (oneDNN's bfloat16 on
# AVX2 CPUs), Arm's BF16 (Armv8.6)
CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16", "avx_ne_convert", "bf16")


def lightning_precision(setting) -> str:
    """Lightning Trainer's ``precision`` for ``training.precision``."""
    try:
        return LIGHTNING_PRECISION[setting]
    except KeyError:
        raise ValueError(f"training.precision = {setting!r} is not one of {list(LIGHTNING_PRECISION)}") from None


def bf16_hardware(device: torch.device, cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    """What computes bfloat16 on ``device`` in hardware (a short description), or None where software emulates it.

    CUDA: compute capability 8.0 on (Ampere; ROCm GPUs all have it). CPU: the flags ``CPU_BF16_FLAGS`` in
    ``cpuinfo`` (Linux, x86 or Arm); where there is no such file (macOS, Windows), oneDNN's own check, which is
    true for any CPU it runs bfloat16 kernels on, emulated or not, so it warns less rather than wrongly.
    """
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        return name if torch.version.hip or torch.cuda.get_device_capability(device)[0] >= 8 else None
    return _cpu_bf16(cpuinfo)[0]


def bf16_hardware_line(device: torch.device) -> str:
    """``bf16_hardware`` in words, for the benchmarks' printed figures."""
    return bf16_hardware(device) or "none, emulated in software"


def _cpu_bf16(cpuinfo: Path) -> tuple[str | None, str]:
    """(the CPU's bfloat16 hardware or None, what told: the flags in ``cpuinfo`` or oneDNN)."""
    flags = cpu_flags(cpuinfo)
    if flags is not None:
        present = [flag for flag in CPU_BF16_FLAGS if flag in flags]
        told = f"none of {', '.join(CPU_BF16_FLAGS)} in {cpuinfo}"
        return (f"CPU with {', '.join(present)}" if present else None), told
    try:
        supported = torch.ops.mkldnn._is_mkldnn_bf16_supported()  # private, but the check torch's own tests use
    except (AttributeError, RuntimeError):
        return "CPU (not known)", "not known"  # no warning where we cannot tell
    return ("CPU (oneDNN bfloat16)" if supported else None), "oneDNN finds no bfloat16 support"


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str] | None:
    """The first processor's feature flags in ``cpuinfo`` (x86's "flags", Arm's "Features"), or None."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return None


def slow_bf16_warning(setting, device: torch.device, cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    """The log's warning when ``setting`` asks for bf16-mixed on a device without bfloat16 hardware, else None."""
    if setting != BF16_MIXED:
        return None
    if device.type == "cuda":
        if bf16_hardware(device) is not None:
            return None
        where = f"this GPU ({torch.cuda.get_device_name(device)}) has no bfloat16 units (compute capability below 8.0)"
    else:
        hardware, told = _cpu_bf16(cpuinfo)  # one read of cpuinfo for the answer and its reason
        if hardware is not None:
            return None
        where = f"this CPU has no bfloat16 instructions ({told})"
    return (f"training.precision is bf16-mixed, but {where}: PyTorch emulates bfloat16, and a step is no faster than "
            "in float32 or several times slower (0.12x on a 2-core AVX2 CPU, docs/benchmarks.md). It trains as asked; "
            "for speed set training.precision: 32 for trainings on this machine, or train on a device with bfloat16.")


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
