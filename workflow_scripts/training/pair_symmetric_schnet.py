"""SchNetPack's SchNet with each atom pair's filter computed once for both directions.

A SchNet filter W_ij depends only on the distance of i and j, so W_ij = W_ji. SchNetPack's SchNet evaluates the
filter network for every directed pair of the neighbor list, both (i, j) and (j, i): the filter network (two
dense layers over every pair) is most of a QM9 step's work, and half of it is a repeat. This representation
keeps SchNetPack's class, modules and parameters (a state_dict loads both ways, so SchNetPack's tools and ASE
calculator run its models as plain SchNet) and changes only ``forward``:

- the filter network, radial basis and cutoff run once per unordered pair (i < j);
- each pair sends its message both ways, x_j W_ij to i and x_i W_ij to j, summed per atom as before;
- gathers use ``index_select``, whose backward is an ``index_add`` (advanced indexing's backward is an
  accumulating ``index_put``, several times slower on a CPU).

Energies and gradients equal SchNetPack's SchNet's within float rounding (tests/unit/test_pair_symmetric_schnet.py).

Under bf16 autocast (``training.precision: bf16-mixed``, precision.py) the per-pair work runs in bfloat16 and the
per-atom work in float32: see ``_interaction_bf16``. Without autocast nothing changes (float32 throughout).
The shortcut needs a neighbor list holding both directions of each pair and no pair of an atom with its own
periodic image (the packed path's and SchNetPack's ASE lists for molecules); any other list (checked pair by
pair) falls back to SchNetPack's own forward.
"""

from __future__ import annotations

import torch
from torch import nn

import schnetpack as spk
import schnetpack.properties as props


class PairSymmetricSchNet(spk.representation.SchNet):
    """``spk.representation.SchNet`` (same arguments and parameters) with one filter evaluation per pair."""

    def as_schnet(self) -> spk.representation.SchNet:
        """The same module, parameters shared, as SchNetPack's own class (for exports SchNetPack loads)."""
        plain = spk.representation.SchNet.__new__(spk.representation.SchNet)
        plain.__dict__.update(self.__dict__)
        return plain

    def forward(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        idx_i, idx_j = inputs[props.idx_i], inputs[props.idx_j]
        forward = idx_i < idx_j
        half = torch.nonzero(forward).squeeze(1)
        i, j = idx_i.index_select(0, half), idx_j.index_select(0, half)
        if not both_directions(i, j, idx_i[~forward], idx_j[~forward]):
            return super().forward(inputs)
        d_ij = torch.linalg.vector_norm(inputs[props.Rij].index_select(0, half), dim=1)
        f_ij = without_denormals(self.radial_basis(d_ij))
        rcut_ij = self.cutoff_fn(d_ij)[:, None]
        senders = torch.cat([j, i])  # each pair's sender, one direction then the other: one gather for both

        x = self.embedding(inputs[props.Z])
        for embedding in self.electronic_embeddings:
            x = x + embedding(x, inputs)
        interaction_step = self._interaction
        if autocast_bf16(x.device):  # the filter's inputs cast once, not by autocast in every interaction
            interaction_step = self._interaction_bf16
            f_ij, rcut_ij = f_ij.to(torch.bfloat16), rcut_ij.to(torch.bfloat16)
        for interaction in self.interactions:
            x = x + interaction_step(interaction, x, f_ij, rcut_ij, i, j, senders)
        inputs["scalar_representation"] = x
        return inputs

    @staticmethod
    def _interaction(block: nn.Module, x, f_ij, rcut_ij, i, j, senders) -> torch.Tensor:
        """``SchNetInteraction.forward`` over the half list: the filter once, the message both ways.

        ``h`` is gathered once for both directions (``senders``: j, then i) and split: its backward is one
        ``index_add_`` in the order of that list, as it was when both directions were one list. Each direction's
        messages are summed by their own ``index_add_`` rather than one over ``cat([w_ij, w_ij])``: the same
        sums in the same order, without a copy of every pair's filter. On a CPU, float32 runs are therefore bit
        for bit what they were with the one-list layout (tests/unit/test_pair_symmetric_schnet.py); on CUDA,
        ``index_add_`` adds atomically in no fixed order, then as now.
        """
        h = block.in2f(x)
        w_ij = block.filter_network(f_ij) * rcut_ij
        from_j, from_i = h.index_select(0, senders).split(len(j))
        summed = torch.zeros_like(h).index_add_(0, i, from_j * w_ij).index_add_(0, j, from_i * w_ij)
        return block.f2out(summed)

    @staticmethod
    def _interaction_bf16(block: nn.Module, x, f_ij, rcut_ij, i, j, senders) -> torch.Tensor:
        """``_interaction`` under bf16 autocast: bfloat16 where the work is per pair, float32 per atom.

        bfloat16 (8-bit mantissa): the filter network (its two dense layers over every pair are most of a step),
        the cutoff's product and each pair's message. float32: the radial basis and cutoff themselves (inputs
        to the filter, computed before), the per-atom layers ``in2f`` and ``f2out`` (a 17th of the pairs' work),
        each atom's sum of its messages (about 18 terms; in bfloat16 its rounding would grow with the count;
        ``MessageSum``) and the residual ``x``. ``f_ij`` and ``rcut_ij`` come in as bfloat16 (cast once per
        forward). One gather of ``h`` for both directions, as in float32: its backward is one ``index_add_``
        (which on a CPU accumulates a bfloat16 row in float32 and rounds once; two gathers would add two rounded
        partial sums). Measured in tests/unit/test_precision.py and docs/benchmarks.md.
        """
        with torch.autocast(x.device.type, enabled=False):
            h = block.in2f(x)
        w_ij = block.filter_network(f_ij) * rcut_ij  # autocast: bfloat16 matmuls
        from_j, from_i = h.to(w_ij.dtype).index_select(0, senders).split(len(j))
        summed = MessageSum.apply(from_j * w_ij, from_i * w_ij, i, j, len(h))
        with torch.autocast(x.device.type, enabled=False):
            return block.f2out(summed)


class MessageSum(torch.autograd.Function):
    """Each atom's sum in float32 of the bfloat16 messages sent to it (``to_i`` to atoms ``i``, ``to_j`` to ``j``).

    Autograd's own ``index_add_(0, i, to_i.float())`` gives the same sums, but its backward gathers the atoms'
    float32 gradient onto every pair and then casts that pair-sized tensor to bfloat16. Here the gradient is cast
    at the atoms (a 17th of the size) and then gathered: the same bfloat16 values without a pair-sized float32
    tensor or cast in the backward (the forward still casts the messages to float32 to sum them). Together with
    the split sums above: bf16-mixed steps 1.23x faster at width 128 (docs/benchmarks.md).
    """

    @staticmethod
    def forward(ctx, to_i: torch.Tensor, to_j: torch.Tensor, i: torch.Tensor, j: torch.Tensor, n_atoms: int):
        ctx.save_for_backward(i, j)
        ctx.message_dtype = to_i.dtype
        summed = torch.zeros(n_atoms, to_i.shape[1], dtype=torch.float32, device=to_i.device)
        return summed.index_add_(0, i, to_i.float()).index_add_(0, j, to_j.float())

    @staticmethod
    def backward(ctx, grad_summed: torch.Tensor):
        i, j = ctx.saved_tensors
        grad = grad_summed.to(ctx.message_dtype)
        return grad.index_select(0, i), grad.index_select(0, j), None, None, None


def autocast_bf16(device: torch.device) -> bool:
    """Whether bf16 autocast is on for ``device``'s type (Lightning's bf16-mixed turns it on around each step)."""
    return torch.is_autocast_enabled(device.type) and torch.get_autocast_dtype(device.type) == torch.bfloat16


def without_denormals(features: torch.Tensor) -> torch.Tensor:
    """``features`` with values below the smallest normal float set to 0.

    A Gaussian radial basis function far from its centre underflows to denormal floats (3 % of a QM9 batch's
    values), which x86 CPUs multiply tens of times slower: the filter layer's weight gradient took a third of a
    step. They add nothing to any sum they enter, so zeroing them leaves the energies as they are.
    ``torch.set_flush_denormal`` would do the same, but only for the thread that calls it, not for the
    intra-op threads of a multi-threaded training.
    """
    return features.masked_fill(features < torch.finfo(features.dtype).tiny, 0.0)


def both_directions(i: torch.Tensor, j: torch.Tensor, back_i: torch.Tensor, back_j: torch.Tensor) -> bool:
    """Whether the pairs (i < j) and the others are the same pairs, one way and back (each exactly once).

    A self-image pair (i == i) or any pair without its reverse makes them differ. Sorting both sets of pair keys
    costs about 1 % of a training step.
    """
    if len(i) != len(back_i):
        return False
    n = int(max(j.max(), back_i.max())) + 1 if len(i) else 1
    there, back = torch.sort(i * n + j).values, torch.sort(back_j * n + back_i).values
    return bool(torch.equal(there, back))
