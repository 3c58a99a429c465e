"""training.precision: bf16-mixed runs the per-pair work in bfloat16 and stays close to float32 (precision.py)."""

from contextlib import nullcontext

import numpy as np
import pytest
import torch
from pytorch_lightning.plugins.precision import MixedPrecision

import schnetpack as spk

from tests.unit.tiny_training import PACKED, pool  # noqa: F401 (fixture)
from workflow_scripts.properties import U0
from workflow_scripts.training.model import build_model
from workflow_scripts.training.packed_data import PackedDataModule, load_store
from workflow_scripts.training.precision import (
    Float32Atomwise, bf16_hardware, cpu_flags, float32_matmuls, lightning_precision, slow_bf16_warning)
from workflow_scripts.training.task import WeightedTask

# SchNet as the quick scale trains it (32 features, 2 interactions), on one batch of 64 molecules
MODEL = {**PACKED["model"], "n_atom_basis": 32, "n_interactions": 2, "n_rbf": 20, "data_cutoff": 5.0,
         "model_cutoff": 5.0}


@pytest.fixture(scope="module")
def step_inputs(pool):  # noqa: F811
    root, split, idx = pool
    module = PackedDataModule(load_store(root / "pool.npz"), idx, np.linspace(1, 2, len(split)), 64, 5.0, seed=0)
    module.setup("fit")
    batch = module.on_after_batch_transfer(next(iter(module.train_dataloader())), 0)
    return module, batch


def one_step(module, batch, precision, implementation="pair_symmetric"):
    """(gradients flattened, network energies) of one training step in ``precision`` (Lightning's own autocast)."""
    torch.manual_seed(0)
    task = WeightedTask(build_model({**MODEL, "implementation": implementation}), 1e-3, None, "tiny",
                          chunk_molecules=32)  # two chunks: the chunked backward under autocast too
    task.model.initialize_transforms(module)
    # Lightning's own plugin for bf16-mixed: the autocast a Trainer puts around each step
    context = MixedPrecision(lightning_precision(precision), "cpu").forward_context() if precision != 32 else nullcontext()
    with context:
        loss = task.training_step({k: v.clone() for k, v in batch.items()}, 0)
        energies = task.predict_without_postprocessing({k: v.clone() for k, v in batch.items()})[U0].detach()
    loss.backward()
    grads = torch.cat([p.grad.flatten() for p in task.model.parameters() if p.grad is not None])
    return grads, energies


@pytest.mark.parametrize("implementation", ["pair_symmetric", "schnetpack"])
def test_a_bf16_mixed_step_has_float32_gradients_within_tolerance(step_inputs, implementation):
    """One step's gradient in bf16-mixed against float32's (measured: cosine 0.99996, norm 0.6 %, difference 1.1 %)."""
    module, batch = step_inputs
    g32, e32 = one_step(module, batch, 32, implementation)
    g16, e16 = one_step(module, batch, "bf16-mixed", implementation)
    assert g16.dtype == torch.float32 and e16.dtype == torch.float32  # float32 weights' gradients, output head
    cosine = float(torch.nn.functional.cosine_similarity(g16, g32, dim=0))
    norm = float((g16.norm() - g32.norm()).abs() / g32.norm())
    relative = float((g16 - g32).norm() / g32.norm())
    energy = float((e16 - e32).abs().max() / e32.std())
    print(f"{implementation}: cosine {cosine:.5f}, norm difference {norm:.2%}, relative difference {relative:.2%}, "
          f"energies max |bf16 - fp32| {energy:.2%} of their spread")
    assert not torch.equal(g16, g32)  # bf16 did run
    assert cosine > 0.999 and norm < 0.02 and relative < 0.05
    assert energy < 0.05  # measured 3.0 % (untrained weights, the largest of 64 molecules)


def test_without_autocast_the_step_is_float32_exactly(step_inputs):
    """precision 32 takes the float32 code path: the same gradient bit for bit as a plain float32 step."""
    module, batch = step_inputs
    g_a, e_a = one_step(module, batch, 32)
    g_b, e_b = one_step(module, batch, 32)
    assert torch.equal(g_a, g_b) and torch.equal(e_a, e_b)
    assert lightning_precision(32) == "32-true"


def test_the_output_head_and_its_sum_stay_float32_under_autocast(step_inputs):
    module, batch = step_inputs
    model = build_model(MODEL)
    model.initialize_transforms(module)
    head = model.output_modules[0]
    assert isinstance(head, Float32Atomwise) and isinstance(head, spk.atomistic.Atomwise)
    seen = {}
    head.outnet.register_forward_hook(lambda m, i, o: seen.update(head=o.dtype))
    model.representation.interactions[0].filter_network.register_forward_hook(
        lambda m, i, o: seen.update(filter=o.dtype))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        energies = model({k: v.clone() for k, v in batch.items()})[U0]
    assert seen == {"head": torch.float32, "filter": torch.bfloat16}
    assert energies.dtype == torch.float64  # the offsets: CastTo64 before AddOffsets


def test_an_unknown_precision_is_refused():
    with pytest.raises(ValueError, match=r"training.precision = '16-mixed' is not one of \[32, 'bf16-mixed'\]"):
        lightning_precision("16-mixed")


def test_tf32_only_for_bf16_mixed_on_cuda_and_only_while_training():
    before = torch.get_float32_matmul_precision()
    with float32_matmuls("bf16-mixed", torch.device("cpu")), float32_matmuls(32, torch.device("cuda")):
        assert torch.get_float32_matmul_precision() == before
    with float32_matmuls("bf16-mixed", torch.device("cuda")):
        assert torch.get_float32_matmul_precision() == "high"
    assert torch.get_float32_matmul_precision() == before


# /proc/cpuinfo's flags lines (abridged) of the two development machines this was measured on
AVX2_EPYC = "fpu sse sse2 ssse3 sse4_1 sse4_2 avx f16c fma avx2 bmi2 sha_ni vaes vpclmulqdq"
SAPPHIRE_RAPIDS = AVX2_EPYC + " avx512f avx512bw avx512vl avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8"


def cpuinfo_file(tmp_path, flags: str):
    path = tmp_path / f"cpuinfo-{'bf16' if 'avx512_bf16' in flags else 'avx2'}"
    path.write_text(f"processor\t: 0\nvendor_id\t: any\nflags\t\t: {flags}\nbugs\t\t: none\n\n"
                    f"processor\t: 1\nflags\t\t: {flags}\n")
    return path


def test_bf16_hardware_is_read_from_the_cpus_flags(tmp_path):
    cpu = torch.device("cpu")
    assert cpu_flags(cpuinfo_file(tmp_path, AVX2_EPYC)) == set(AVX2_EPYC.split())
    assert bf16_hardware(cpu, cpuinfo_file(tmp_path, AVX2_EPYC)) is None
    assert bf16_hardware(cpu, cpuinfo_file(tmp_path, SAPPHIRE_RAPIDS)) == "CPU with avx512_bf16, amx_bf16"
    # Arm's file names them "Features"
    graviton3, graviton2 = tmp_path / "graviton3", tmp_path / "graviton2"
    graviton3.write_text("processor\t: 0\nBogoMIPS\t: 2100.00\nFeatures\t: fp asimd sve bf16 i8mm\n")
    graviton2.write_text("processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull crc32 atomics\n")
    assert bf16_hardware(cpu, graviton3) == "CPU with bf16" and bf16_hardware(cpu, graviton2) is None
    # no /proc/cpuinfo (macOS, Windows): oneDNN's own check decides
    missing = tmp_path / "no such file"
    assert cpu_flags(missing) is None
    assert (bf16_hardware(cpu, missing) is not None) == torch.ops.mkldnn._is_mkldnn_bf16_supported()


def test_bf16_mixed_on_a_cpu_without_bf16_says_so_and_how_to_fix_it(tmp_path):
    cpu, slow, fast = torch.device("cpu"), cpuinfo_file(tmp_path, AVX2_EPYC), cpuinfo_file(tmp_path, SAPPHIRE_RAPIDS)
    warning = slow_bf16_warning("bf16-mixed", cpu, slow)
    assert f"no bfloat16 instructions (none of avx512_bf16, amx_bf16, avx_ne_convert, bf16 in {slow})" in warning
    assert "set training.precision: 32" in warning and "docs/benchmarks.md" in warning
    assert slow_bf16_warning("bf16-mixed", cpu, fast) is None
    assert slow_bf16_warning(32, cpu, slow) is None  # float32 needs no bfloat16
