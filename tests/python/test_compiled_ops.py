"""The compiled operators of the model (nbody_lmp/ops.py; the neighbourhood sum of eq. 10 of the
paper) against the pure-torch forms they
replace on CPU, float64: the neighbourhood sum ``torch.ops.nbody.neighbourhood_sum``
(lammps_plugin/ops/nbody_ops.cpp) and the sparse CG transforms ``cg_linear`` / ``cg_product``
(lammps_plugin/ops/nbody_cg_ops.cpp). Values, first and second derivatives (forces; training on
forces) to 1e-12; the whole model's energies, forces and parameter gradients of a force loss
with and without them; clear errors on bad graphs."""

import pytest
import torch

from nbody_lmp import NBodyNetwork
from nbody_lmp.nn.channel_fragments import ChannelNeighbourhoodFragments
from nbody_lmp.nn.tensor_product import CGBlocks
from nbody_lmp.so3 import natural_irreps, sh_irrep

from _netutils import model_inputs, random_crystal, rel_err

pytestmark = pytest.mark.usefixtures("float64")
op = torch.ops.nbody.neighbourhood_sum


def _reference(x, w, y, child, center, n, cg):
    """sum_{e: center[e] = i} x[child[e]] (x) (Y R_c)[e], per edge, then the dense CG matrix."""
    deg = torch.cat([torch.full((2 * l + 1,), l) for l in range(w.shape[2])])
    z = w[:, :, deg] * y.unsqueeze(1)  # [E, C, B]
    C, A, B = x.shape[1], x.shape[2], z.shape[2]
    s = torch.zeros(n, C, A, B, dtype=x.dtype).index_add(
        0, center, x[child].unsqueeze(-1) * z.unsqueeze(-2)
    )
    ab, k, value, K = cg
    M = torch.zeros(A * B, K, dtype=x.dtype).index_put((ab, k), value.to(x.dtype), accumulate=True)
    return s.reshape(n, C, A * B) @ M


def _graph(seed, E=31, N=8, n=6, C=3, A=4, L1=3, K=11, nnz=40, dtype=torch.float64):
    """Random edges (parent n-1 has none) and random sparse 'CG' entries (repeats add up)."""
    g = torch.Generator().manual_seed(seed)
    center = torch.randint(0, n - 1, (E,), generator=g)
    child = torch.randint(0, N, (E,), generator=g)
    x = torch.randn(N, C, A, generator=g, dtype=dtype).requires_grad_()
    w = torch.randn(E, C, L1, generator=g, dtype=dtype).requires_grad_()
    y = torch.randn(E, L1 * L1, generator=g, dtype=dtype).requires_grad_()
    cg = (
        torch.randint(0, A * L1 * L1, (nnz,), generator=g),
        torch.randint(0, K, (nnz,), generator=g),
        torch.randn(nnz, generator=g, dtype=torch.float64),
        K,
    )
    return x, w, y, child, center, n, cg


def _op(x, w, y, child, center, n, cg):
    return op(x, w, y, child, center, n, *cg)


@pytest.mark.parametrize("A,L1", [(1, 3), (4, 2), (9, 3), (9, 4), (3, 1)])
def test_values_match_per_edge_sum(A, L1):
    x, w, y, child, center, n, cg = _graph(A + L1, A=A, L1=L1)
    got = _op(x, w, y, child, center, n, cg)
    assert got.shape == (n, x.shape[1], cg[3])
    assert rel_err(got, _reference(x, w, y, child, center, n, cg)) < 1e-13
    assert got[n - 1].abs().max() == 0
    with torch.no_grad():  # through the autograd kernel, recording nothing
        assert rel_err(_op(x, w, y, child, center, n, cg), got) == 0
    with torch.inference_mode():  # the CPU kernel alone
        assert rel_err(_op(x, w, y, child, center, n, cg), got) == 0
    x32, w32, y32 = (t.detach().float() for t in (x, w, y))
    assert rel_err(_op(x32, w32, y32, child, center, n, cg), got.float()) < 1e-5
    empty = _op(x, w[:0], y[:0], child[:0], center[:0], n, cg)
    assert empty.shape == got.shape and empty.abs().max() == 0


@pytest.mark.parametrize("A", [1, 9])
def test_first_and_second_derivatives(A):
    x, w, y, child, center, n, cg = _graph(10 + A, A=A, E=17)
    f = lambda x, w, y: _op(x, w, y, child, center, n, cg)  # noqa: E731
    assert torch.autograd.gradcheck(f, (x, w, y))
    assert torch.autograd.gradgradcheck(f, (x, w, y))
    # a force-like first derivative, differentiated again (training on forces), against the
    # reference
    grads = []
    for fn in (_op, _reference):
        out = fn(x, w, y, child, center, n, cg)
        gx, gy = torch.autograd.grad(out.sin().sum(), [x, y], create_graph=True)
        grads.append(torch.autograd.grad(gx.cos().sum() + (gy**2).sum(), [x, w, y]))
    for a, b in zip(*grads):
        assert rel_err(a, b) < 1e-12
    # training on forces with radial weights that learn: w and y wanted together (one node,
    # PartialWY)
    grads = []
    for fn in (_op, _reference):
        out = fn(x, w, y, child, center, n, cg)
        gx, gw, gy = torch.autograd.grad(out.sin().sum(), [x, w, y], create_graph=True)
        grads.append(
            torch.autograd.grad(gx.cos().sum() + (gy**2).sum() + (gw * gw.sum(0)).sum(), [x, w, y])
        )
    for a, b in zip(*grads):
        assert rel_err(a, b) < 1e-12
    # and with only one of the two used by the loss (the other's gradient is undefined)
    for keep in (1, 2):
        grads = []
        for fn in (_op, _reference):
            out = fn(x, w, y, child, center, n, cg)
            first = torch.autograd.grad(out.sin().sum(), [x, w, y], create_graph=True)
            grads.append(
                torch.autograd.grad((first[keep] ** 2).sum(), [x, w, y], allow_unused=True)
            )
        for a, b in zip(*grads):
            assert (a is None) == (b is None) and (a is None or rel_err(a, b) < 1e-12)
    # forces only (no graph kept): the shared pass for w and y gives the same numbers
    out = _op(x, w, y, child, center, n, cg)
    first = torch.autograd.grad(out.sin().sum(), [x, w, y])
    out = _reference(x, w, y, child, center, n, cg)
    for a, b in zip(first, torch.autograd.grad(out.sin().sum(), [x, w, y])):
        assert rel_err(a, b) < 1e-12


def test_third_derivatives():
    """The fused backward of (dF/dw, dF/dy) is itself differentiable (third derivatives)."""
    x, w, y, child, center, n, cg = _graph(3, A=4, E=9, N=5, n=4, C=2, L1=2, K=5, nnz=14)

    def first(x, w, y):
        return torch.autograd.grad(
            _op(x, w, y, child, center, n, cg).sin().sum(), [x, w, y], create_graph=True
        )

    assert torch.autograd.gradgradcheck(first, (x, w, y))


@pytest.mark.parametrize("second", ["sh", "hidden"])
def test_sparse_cg_matches_dense_matrix(second):
    hidden = natural_irreps(2, "natural")
    cg = CGBlocks(
        hidden, [sh_irrep(l) for l in range(3)] if second == "sh" else hidden, hidden
    ).double()
    nnz = cg.entry_value.numel()
    assert 0 < nnz < 0.05 * cg.matrix.numel() and (cg.matrix != 0).sum() == nnz
    g = torch.Generator().manual_seed(1)
    m = 7
    u = torch.randn(m, cg.d1, generator=g, dtype=torch.float64, requires_grad=True)
    v = torch.randn(m, cg.d2, generator=g, dtype=torch.float64, requires_grad=True)
    t = torch.randn(m, cg.d1 * cg.d2, generator=g, dtype=torch.float64, requires_grad=True)
    dense = lambda t: t @ cg.matrix  # noqa: E731
    lin = lambda t: torch.ops.nbody.cg_linear(t, cg.entry_ab, cg.entry_k, cg.entry_value, cg.d_out)  # noqa: E731
    prod = lambda u, v: cg.product(u, v)  # noqa: E731
    assert rel_err(lin(t), dense(t)) < 1e-14
    assert rel_err(prod(u, v), dense((u.unsqueeze(-1) * v.unsqueeze(-2)).flatten(-2))) < 1e-14
    with torch.inference_mode():  # the CPU kernels alone
        assert (
            rel_err(lin(t), dense(t)) < 1e-14
            and rel_err(prod(u, v), cg.product(u, v).detach()) == 0
        )
    assert torch.autograd.gradcheck(lin, (t,)) and torch.autograd.gradgradcheck(lin, (t,))
    assert torch.autograd.gradcheck(prod, (u, v)) and torch.autograd.gradgradcheck(prod, (u, v))
    cg.sparse = False
    out = cg.product(u, v)
    (gu,) = torch.autograd.grad(out.sin().sum(), [u], create_graph=True)
    expected = torch.autograd.grad((gu**2).sum(), [u, v])
    cg.sparse = True
    out = cg.product(u, v)
    (gu,) = torch.autograd.grad(out.sin().sum(), [u], create_graph=True)
    for a, b in zip(torch.autograd.grad((gu**2).sum(), [u, v]), expected):
        assert rel_err(a, b) < 1e-12
    with pytest.raises(RuntimeError, match=r"index \d+ out of \[0, 4\)"):
        torch.ops.nbody.cg_product(
            u, v[:, :4], cg.entry_a, cg.entry_b, cg.entry_k, cg.entry_value, cg.d_out
        )
    with pytest.raises(RuntimeError, match="one row per channel"):
        torch.ops.nbody.cg_product(
            u, v[:3], cg.entry_a, cg.entry_b, cg.entry_k, cg.entry_value, cg.d_out
        )
    with pytest.raises(RuntimeError, match="out of"):
        torch.ops.nbody.cg_linear(t[:, :10], cg.entry_ab, cg.entry_k, cg.entry_value, cg.d_out)


def test_model_fused_equals_pure_torch():
    torch.manual_seed(2)
    model = NBodyNetwork(
        ["Si", "O"],
        cutoff=[3.2, 2.9],
        levels=2,
        lmax=2,
        channels=3,
        gate="first_order",
        radial_weights="per_channel",
        dtype=torch.float64,
    )
    sums = [m for m in model.modules() if isinstance(m, ChannelNeighbourhoodFragments)]
    cgs = [m for m in model.modules() if isinstance(m, CGBlocks)]
    assert (
        sums and all(m.fused for m in sums) and len(cgs) > len(sums) and all(m.sparse for m in cgs)
    )
    atoms = random_crystal(("Si", "O"), seed=4, n=7)
    species = torch.tensor([model.species.index(s) for s in atoms.get_chemical_symbols()])
    results = []
    for fused in (True, False):
        for m in sums:
            m.fused = fused
        for m in cgs:
            m.sparse = fused
        pos = torch.from_numpy(atoms.positions).requires_grad_()
        ei, ev, nn = model_inputs(model, pos)
        energy = model(species, ei, ev, nn).sum()
        forces = -torch.autograd.grad(energy, pos, create_graph=True)[0]
        loss = (forces**2).sum()
        params = torch.autograd.grad(loss, list(model.parameters()), allow_unused=True)
        results.append((energy, forces, params))
    (e1, f1, p1), (e2, f2, p2) = results
    assert rel_err(e1, e2) < 1e-12 and rel_err(f1, f2) < 1e-12
    assert f1.abs().max() > 1e-3
    for a, b in zip(p1, p2):
        assert (a is None) == (b is None)
        if a is not None:
            assert rel_err(a, b) < 1e-11


def test_bad_graph_is_an_error_that_says_which_edge():
    x, w, y, child, center, n, cg = _graph(0)
    bad = child.clone()
    bad[5] = x.shape[0]
    with pytest.raises(RuntimeError, match=r"edge 5 joins child 8 \(of 8\)"):
        _op(x, w, y, bad, center, n, cg)
    with pytest.raises(RuntimeError, match="parent"):
        _op(x, w, y, child, center, 2, cg)
    with pytest.raises(RuntimeError, match=r"w must be \[E, C, L\+1\]"):
        _op(x, w[:, :2], y, child, center, n, cg)
    with pytest.raises(RuntimeError, match="one dtype"):
        _op(x, w.float(), y, child, center, n, cg)
    with pytest.raises(RuntimeError, match=r"\(L\+1\)\^2"):
        _op(x, w, y[:, :5], child, center, n, cg)
    with pytest.raises(RuntimeError, match="CG entry"):
        _op(x, w, y, child, center, n, (cg[0], cg[1], cg[2], 3))
