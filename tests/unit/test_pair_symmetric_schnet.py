"""The pair-symmetric SchNet against SchNetPack's SchNet on the same weights and molecules."""

import numpy as np
import pytest
import torch

import schnetpack as spk
import schnetpack.properties as props

from tests.conftest import tiny_pool
from workflow_scripts.properties import U0
from workflow_scripts.training.packed_data import add_neighbor_list, molecule_batch
from workflow_scripts.training.pair_symmetric_schnet import MessageSum, PairSymmetricSchNet, without_denormals
from workflow_scripts.training.model import build_model
from workflow_scripts.training.schnetpack_data import data_module

MODEL = {"n_atom_basis": 32, "n_interactions": 3, "n_rbf": 20, "data_cutoff": 5.0, "model_cutoff": 5.0,
         "energy_reference": "qm9_atoms"}


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    root = tmp_path_factory.mktemp("pairs")
    split, idx, store = tiny_pool(root, max_molecules=2000, pool_size=120)
    return root, idx, store


def models():
    torch.manual_seed(0)
    reference = build_model({**MODEL, "implementation": "schnetpack"})
    fast = build_model({**MODEL, "implementation": "pair_symmetric"})
    fast.load_state_dict(reference.state_dict())
    assert type(fast.representation) is PairSymmetricSchNet
    assert type(reference.representation) is spk.representation.SchNet
    for model in (reference, fast):
        model.do_postprocessing = False  # the network's own output, not the large atom references
    return reference, fast


def energies_and_gradients(model, batch):
    batch = {k: v.clone() for k, v in batch.items()}
    batch[props.R].requires_grad_(True)
    model.zero_grad(set_to_none=True)
    energy = model(batch)[U0]
    energy.sum().backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    return energy.detach(), batch[props.R].grad, grads


def relative(a, b) -> float:
    return ((a - b).abs().max() / b.abs().max()).item()


def assert_equivalent(batch):
    reference, fast = models()
    e_ref, dr_ref, g_ref = energies_and_gradients(reference, batch)
    e_fast, dr_fast, g_fast = energies_and_gradients(fast, batch)
    assert relative(e_fast, e_ref) < 1e-5
    assert relative(dr_fast, dr_ref) < 1e-5  # energy gradient by position (minus the forces)
    assert set(g_fast) == set(g_ref)
    worst = max(relative(g_fast[name], g_ref[name]) for name in g_ref)
    assert worst < 1e-5, worst
    return e_ref


def test_same_energies_and_gradients_on_packed_batches(pool):
    root, idx, store = pool
    rows = idx["train"][:40]
    batch = add_neighbor_list(molecule_batch(store, rows), MODEL["data_cutoff"])
    energies = assert_equivalent(batch)
    assert energies.std() > 0  # distinct molecules, not a degenerate comparison


def test_same_energies_and_gradients_on_schnetpack_batches(pool, tmp_path):
    root, idx, _ = pool
    module = data_module(root / "pool.db", tmp_path, idx, 40, MODEL["data_cutoff"], np.ones(200))
    module.setup("fit")
    assert_equivalent(next(iter(module.train_dataloader())))


def fallback_energies(batch, keep):
    listed = {**batch, **{k: batch[k][keep] for k in (props.idx_i, props.idx_j, props.offsets)}}
    reference, fast = models()
    with torch.no_grad():
        return (fast({k: v.clone() for k, v in listed.items()})[U0],
                reference({k: v.clone() for k, v in listed.items()})[U0])


def test_one_way_neighbor_list_falls_back_to_schnetpack(pool):
    root, idx, store = pool
    batch = add_neighbor_list(molecule_batch(store, idx["train"][:10]), MODEL["data_cutoff"])
    e_fast, e_ref = fallback_energies(batch, batch[props.idx_i] < batch[props.idx_j])  # half: would double-count
    assert torch.equal(e_fast, e_ref)


def test_a_balanced_list_that_is_not_symmetric_falls_back(pool):
    root, idx, store = pool
    batch = add_neighbor_list(molecule_batch(store, idx["train"][:10]), MODEL["data_cutoff"])
    i, j = batch[props.idx_i], batch[props.idx_j]
    # as many pairs each way, but the (i, j) with the largest i < j lost its reverse and another pair is doubled
    forward = torch.nonzero(i < j).squeeze(1)
    back = torch.nonzero(i > j).squeeze(1)
    keep = torch.cat([forward, back[:-1], back[:1]])
    e_fast, e_ref = fallback_energies(batch, keep)
    assert torch.equal(e_fast, e_ref)


def test_state_dicts_load_both_ways_and_export_as_schnetpack(pool, tmp_path):
    root, idx, store = pool
    batch = add_neighbor_list(molecule_batch(store, idx["train"][:20]), MODEL["data_cutoff"])
    reference, fast = models()
    reference.load_state_dict(fast.state_dict())
    fast.load_state_dict(reference.state_dict())
    plain = fast.representation.as_schnet()
    assert type(plain) is spk.representation.SchNet
    torch.save(plain, tmp_path / "schnet.pt")  # pickled as SchNetPack's own class
    loaded = torch.load(tmp_path / "schnet.pt", weights_only=False)
    assert type(loaded) is spk.representation.SchNet
    fast.representation = loaded
    with torch.no_grad():
        e_loaded = fast({k: v.clone() for k, v in batch.items()})[U0]
        e_ref = reference({k: v.clone() for k, v in batch.items()})[U0]
    assert torch.equal(e_loaded, e_ref)


def test_radial_basis_denormals_become_zero_and_nothing_else_changes(pool):
    root, idx, store = pool
    batch = add_neighbor_list(molecule_batch(store, idx["train"][:40]), MODEL["data_cutoff"])
    _, fast = models()
    d_ij = torch.linalg.vector_norm(batch[props.R][batch[props.idx_j]] - batch[props.R][batch[props.idx_i]], dim=1)
    features = fast.representation.radial_basis(d_ij)
    tiny = torch.finfo(features.dtype).tiny
    denormal = (features > 0) & (features < tiny)
    assert denormal.any()  # real QM9 distances do underflow: the case the cleaning is for
    cleaned = without_denormals(features)
    assert not ((cleaned > 0) & (cleaned < tiny)).any()
    assert torch.equal(cleaned[~denormal], features[~denormal])
    assert (cleaned[denormal] == 0).all()


def half_list(batch):
    forward = batch[props.idx_i] < batch[props.idx_j]
    return batch[props.idx_i][forward], batch[props.idx_j][forward]


def one_sum_over_both_directions(h, w_ij, i, j):
    """The message sum as one gather and one index_add_ over ``cat([w_ij, w_ij])`` (the layout before 2026-12-06),
    in float32 whatever the messages' precision (as autograd sums them: cast, then add)."""
    messages = h.to(w_ij.dtype).index_select(0, torch.cat([j, i])) * torch.cat([w_ij, w_ij])
    return torch.zeros(h.shape).index_add_(0, torch.cat([i, j]), messages.float())


@pytest.mark.parametrize("precision", ["32", "bf16-mixed"])
def test_interaction_gives_bit_for_bit_what_one_sum_over_both_directions_gave(pool, precision):
    """Each direction summed by its own index_add_ (and, in bf16-mixed, MessageSum's backward) changes no bit of
    the output or of any gradient: float32 studies keep their numbers, bf16-mixed runs their measured ones."""
    root, idx, store = pool
    batch = add_neighbor_list(molecule_batch(store, idx["train"][:40]), MODEL["data_cutoff"])
    i, j = half_list(batch)
    _, fast = models()
    block = fast.representation.interactions[0]
    torch.manual_seed(1)
    x = torch.randn(len(batch[props.Z]), MODEL["n_atom_basis"], requires_grad=True)
    f_ij, rcut_ij = torch.rand(len(i), MODEL["n_rbf"]), torch.rand(len(i), 1)
    upstream = torch.randn_like(x)
    bf16 = precision == "bf16-mixed"
    interaction = PairSymmetricSchNet._interaction_bf16 if bf16 else PairSymmetricSchNet._interaction
    if bf16:  # the forward casts the filter's inputs once (PairSymmetricSchNet.forward)
        f_ij, rcut_ij = f_ij.bfloat16(), rcut_ij.bfloat16()

    def output_and_gradients(summing):
        fast.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = summing()
        (grad_x,) = torch.autograd.grad(out, x, upstream, retain_graph=True)
        out.backward(upstream)
        return [out, grad_x] + [p.grad for p in block.parameters()]

    def one_sum():
        with torch.autocast("cpu", enabled=False):
            h = block.in2f(x)
        summed = one_sum_over_both_directions(h, block.filter_network(f_ij) * rcut_ij, i, j)
        with torch.autocast("cpu", enabled=False):
            return block.f2out(summed)

    ours = output_and_gradients(lambda: interaction(block, x, f_ij, rcut_ij, i, j, torch.cat([j, i])))
    reference = output_and_gradients(one_sum)
    assert ours[0].dtype == torch.float32
    assert all(torch.equal(a, b) for a, b in zip(ours, reference))
    assert ours[1].abs().sum() > 0


class _SavedPairs:
    """A stand-in for autograd's ctx, to call MessageSum.backward directly and see what it returns."""

    def __init__(self, i, j):
        self.saved_tensors, self.message_dtype = (i, j), torch.bfloat16


def test_message_sum_matches_autograd_in_float32_sums_and_bfloat16_gradients(pool):
    """MessageSum's hand-written backward gives autograd's own values, cast at the atoms and then gathered."""
    root, idx, store = pool
    batch = add_neighbor_list(molecule_batch(store, idx["train"][:40]), MODEL["data_cutoff"])
    i, j = half_list(batch)
    n_atoms = len(batch[props.Z])
    torch.manual_seed(2)
    to_i, to_j = (torch.randn(len(i), 16).bfloat16().requires_grad_() for _ in range(2))
    upstream = torch.randn(n_atoms, 16)
    summed = MessageSum.apply(to_i, to_j, i, j, n_atoms)
    autograd_summed = torch.zeros(n_atoms, 16).index_add_(0, i, to_i.float()).index_add_(0, j, to_j.float())
    assert summed.dtype == torch.float32 and torch.equal(summed, autograd_summed)
    autograds = torch.autograd.grad(autograd_summed, (to_i, to_j), upstream)
    # called directly: autograd would cast whatever it returns to the messages' dtype and hide a float32 gather
    grad_i, grad_j, *rest = MessageSum.backward(_SavedPairs(i, j), upstream)
    assert rest == [None, None, None]
    for ours, theirs in ((grad_i, autograds[0]), (grad_j, autograds[1])):
        assert ours.dtype == torch.bfloat16 and torch.equal(ours, theirs)
        assert ours.abs().sum() > 0
    assert all(torch.equal(a, b) for a, b in zip(torch.autograd.grad(summed, (to_i, to_j), upstream), autograds))
