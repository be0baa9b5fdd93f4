/* ----------------------------------------------------------------------
   nbody::neighbourhood_sum: the CG-decomposed zeroth-order neighbourhood sum with per-channel
   radial weights (eq. 10 of the paper; python/nbody_lmp/nn/channel_fragments.py), fused into
   one TorchScript operator. libnbody_ops.so holds it; Python (nbody_lmp/ops.py) and the LAMMPS
   plugin both load it, so an exported model that calls it runs in either (docs/lammps.md,
   "Performance notes").

       out[i, c, k] = sum_{(ab, k)} M[ab, k] sum_{e : center[e] = i}
                          x[child[e], c, a] w[e, c, l(b)] y[e, b]

   x [N, C, A]    the children's states psi_j, channel c, flattened parts a
   w [E, C, L+1]  R_{c l}(|d_e|), the per-channel radial function of harmonic degree l
   y [E, B]       Y(d_e) flat over l = 0..L (B = (L+1)^2; column b has degree l(b) = floor(sqrt b))
   M              the CG matrix [A * B, K] as its non-zero entries (ab [nnz], k [nnz], value [nnz]):
                  the transform is linear, so it is applied once per parent (docs/theory.md,
                  "Departures from the paper", item 7: node work, not edge work)
   out [n, C, K]  the CG parts of every channel.

   The pure-torch form builds the edge factors z = Y R_c ([E, C, B]), a padded [C * parents, K, .]
   copy of the children and of z for a batched matmul, the [n, C, A * B] sums and then the dense
   CG product, and keeps them for backward. Here the edges are visited parent by parent (a
   counting sort of center, O(E)); each parent's A x B sums live in a small buffer, and nothing
   but the inputs is kept.

   Derivatives. out is the gradient with respect to g of the 4-linear form
       F(g, x, w, y) = sum_{e, c, (ab, k)} M[ab, k] g[center[e], c, k] x[child[e], c, a]
                                                w[e, c, l(b)] y[e, b],
   and the partial gradients of F with respect to x, w and y are the backward. Each of the four
   partials is again linear in each of its three inputs, and the backward of "dF/dp" is made of
   the other partials with p replaced by the incoming gradient. So one autograd Function over
   the four partials is closed under differentiation: forces (first backward) and training on
   forces (double backward) need nothing else. M is a constant (never differentiated).
   dF/dw and dF/dy, wanted together whenever both the radial weights and the harmonics carry
   gradients (forces; training), share their contraction over a and are one node (PartialWY);
   its backward passes over the edges once for each of g, x and (w, y), where the separate
   partials would pass twice for g and for x.

   CPU only: on CUDA the Python module keeps the pure-torch form. Work is split over parents
   (outputs per parent or per edge) or, for dF/dx (a scatter to children), over channels: no two
   threads write one place.
------------------------------------------------------------------------- */

#include <ATen/Parallel.h>
#include <torch/autograd.h>
#include <torch/library.h>
#include <torch/torch.h>

#include <array>
#include <vector>

#include "nbody_cg_entries.h"

namespace {

using torch::Tensor;

enum Arg { ARG_G = 0, ARG_X = 1, ARG_W = 2, ARG_Y = 3 };

// the edges and the CG entries of one call
struct Graph {
  Tensor child, center;
  int64_t n_parents, n_children, d_in, d_sh;    // d_in = A, d_sh = B
  Tensor cg_ab, cg_k, cg_value;
  int64_t n_out;    // K
};

struct Dims {
  int64_t E, C, A, L1, B, K, nnz;
};

constexpr int64_t degree_of(int64_t b)
{
  int64_t l = 0;
  while ((l + 1) * (l + 1) <= b) ++l;
  return l;
}

constexpr int64_t degrees_of(int64_t B)
{
  return B > 0 ? degree_of(B - 1) + 1 : 0;
}

void check_graph(const Graph &gr, const Dims &d)
{
  const char *op = "nbody::neighbourhood_sum";
  const Tensor &child = gr.child, &center = gr.center;
  TORCH_CHECK(child.dim() == 1 && center.dim() == 1 && child.size(0) == d.E &&
                  center.size(0) == d.E,
              op, ": child and center must be 1-d with one entry per edge (", d.E, ")");
  TORCH_CHECK(child.scalar_type() == torch::kLong && center.scalar_type() == torch::kLong, op,
              ": child and center must be int64");
  TORCH_CHECK(child.device().is_cpu() && center.device().is_cpu(), op,
              ": CPU tensors only (on CUDA the model uses its pure-torch path)");
  const int64_t *ch = child.data_ptr<int64_t>(), *ce = center.data_ptr<int64_t>();
  for (int64_t e = 0; e < d.E; ++e)
    TORCH_CHECK(ch[e] >= 0 && ch[e] < gr.n_children && ce[e] >= 0 && ce[e] < gr.n_parents, op,
                ": edge ", e, " joins child ", ch[e], " (of ", gr.n_children, ") to parent ", ce[e],
                " (of ", gr.n_parents, ")");
  TORCH_CHECK(gr.cg_ab.dim() == 1 && gr.cg_k.dim() == 1 && gr.cg_value.dim() == 1 &&
                  gr.cg_ab.size(0) == d.nnz && gr.cg_k.size(0) == d.nnz &&
                  gr.cg_ab.scalar_type() == torch::kLong && gr.cg_k.scalar_type() == torch::kLong,
              op, ": the CG entries (ab, k, value) must be 1-d, int64 indices, one length");
  TORCH_CHECK(gr.cg_ab.device().is_cpu() && gr.cg_k.device().is_cpu() &&
                  gr.cg_value.device().is_cpu(),
              op, ": the CG entries must be CPU tensors");
  const int64_t *ab = gr.cg_ab.data_ptr<int64_t>(), *k = gr.cg_k.data_ptr<int64_t>();
  for (int64_t t = 0; t < d.nnz; ++t)
    TORCH_CHECK(ab[t] >= 0 && ab[t] < d.A * d.B && k[t] >= 0 && k[t] < d.K, op, ": CG entry ", t,
                " (", ab[t], ", ", k[t], ") is outside the [", d.A * d.B, ", ", d.K, "] matrix");
}

// the edges of each parent: edges_of[start[i] .. start[i + 1]) (a stable counting sort of center)
struct ParentEdges {
  std::vector<int64_t> start, edges_of;
  ParentEdges(const int64_t *center, int64_t E, int64_t n) : start(n + 1, 0), edges_of(E)
  {
    for (int64_t e = 0; e < E; ++e) ++start[center[e] + 1];
    for (int64_t i = 0; i < n; ++i) start[i + 1] += start[i];
    std::vector<int64_t> next(start.begin(), start.end() - 1);
    for (int64_t e = 0; e < E; ++e) edges_of[next[center[e]]++] = e;
  }
};

// t[b] = w[l(b)] y[b]: the edge's factor Y R_c of channel c
template <int64_t B, typename T> inline void edge_factor(const T *w, const T *y, T *t)
{
  for (int64_t l = 0; l < degrees_of(B); ++l)
    for (int64_t b = l * l; b < (l + 1) * (l + 1); ++b) t[b] = w[l] * y[b];
}

/* The edge factors that dF/dg and dF/dx read: w y, or w y + w2 y2 when a second pair is given.
   F is linear in w and in y, so the gradient of <gw, dF/dw> + <gy, dF/dy> with respect to g (or
   x) is one such partial with the two pairs (gw, y) and (w, gy): one pass over the edges, not
   two. */
template <typename T> struct EdgeFactors {
  const T *w, *y, *w2, *y2;
  int64_t C, L1;
  template <int64_t B> inline void of(int64_t e, int64_t c, T *t) const
  {
    edge_factor<B>(w + (e * C + c) * L1, y + e * B, t);
    if (!w2) return;
    const T *v = w2 + (e * C + c) * L1, *z = y2 + e * B;
    for (int64_t l = 0; l < degrees_of(B); ++l)
      for (int64_t b = l * l; b < (l + 1) * (l + 1); ++b) t[b] += v[l] * z[b];
  }
};

// the CG matrix M [A * B, K] by its non-zero entries, grouped both ways (nbody_cg_entries.h)
template <typename T> struct GroupedCG {
  nbody::EntryGroups by_k, by_ab;
  std::vector<int64_t> ab_of, k_of;    // in by_k's and by_ab's order
  std::vector<T> val_k, val_ab;
  int64_t K, AB;

  GroupedCG(const int64_t *ab, const int64_t *k, const T *val, int64_t nnz, int64_t K_,
            int64_t AB_) :
      by_k(k, nnz), by_ab(ab, nnz), ab_of(by_k.gather(ab)), k_of(by_ab.gather(k)),
      val_k(by_k.gather(val)), val_ab(by_ab.gather(val)), K(K_), AB(AB_)
  {}
  // out[k] = sum_ab M[ab, k] S[ab]: one channel of one parent
  void apply(const T *S, T *out) const { by_k.sum_into(ab_of, val_k, S, out, K); }
  // G[ab] = sum_k M[ab, k] g[k]: one channel of one parent's gradient, back through the transform
  void transpose(const T *g, T *G) const { by_ab.sum_into(k_of, val_ab, g, G, AB); }
};

struct Pointers {
  const int64_t *child, *center;
};

// a second (w, y) pair for dF/dg and dF/dx (EdgeFactors); both undefined when there is none
struct Pair {
  Tensor w, y;
};

/* The four partials of F. B is known at compile time (the inner loops unroll); A and the CG
   entries at run time. */

// dF/dg: out[i, c, k] = sum M[ab, k] S_i[c, ab],  S_i[c, a, b] = sum_{e of i} x[j, c, a] t_c[b]
template <int64_t B, typename T>
void partial_g(const T *x, const EdgeFactors<T> &f, const GroupedCG<T> &cg, T *out,
               const Pointers &p, const ParentEdges &pe, const Dims &d)
{
  const int64_t C = d.C, A = d.A, K = d.K, AB = A * B;
  at::parallel_for(0, (int64_t) pe.start.size() - 1, 16, [&](int64_t i0, int64_t i1) {
    std::vector<T> S(C * AB);
    T t[B];
    for (int64_t i = i0; i < i1; ++i) {
      T *oi = out + i * C * K;
      for (int64_t q = 0; q < C * K; ++q) oi[q] = 0;
      if (pe.start[i] == pe.start[i + 1]) continue;
      std::fill(S.begin(), S.end(), T(0));
      for (int64_t s = pe.start[i]; s < pe.start[i + 1]; ++s) {
        const int64_t e = pe.edges_of[s];
        const T *xj = x + p.child[e] * C * A;
        for (int64_t c = 0; c < C; ++c) {
          f.template of<B>(e, c, t);
          T *Sc = S.data() + c * AB;
          for (int64_t a = 0; a < A; ++a, Sc += B) {
            const T xv = xj[c * A + a];
            for (int64_t b = 0; b < B; ++b) Sc[b] += xv * t[b];
          }
        }
      }
      for (int64_t c = 0; c < C; ++c) cg.apply(S.data() + c * AB, oi + c * K);
    }
  });
}

// dF/dx: gx[j, c, a] += sum_b G_i[c, a, b] t_c[b],  G_i[c] = M g[i, c]
template <int64_t B, typename T>
void partial_x(const T *g, const EdgeFactors<T> &f, const GroupedCG<T> &cg, T *gx,
               const Pointers &p, const ParentEdges &pe, const Dims &d)
{
  const int64_t C = d.C, A = d.A, K = d.K, AB = A * B, n = (int64_t) pe.start.size() - 1;
  at::parallel_for(0, C, 1, [&](int64_t c0, int64_t c1) {
    std::vector<T> G(AB);
    T t[B];
    for (int64_t i = 0; i < n; ++i) {
      if (pe.start[i] == pe.start[i + 1]) continue;
      for (int64_t c = c0; c < c1; ++c) {
        cg.transpose(g + (i * C + c) * K, G.data());
        for (int64_t s = pe.start[i]; s < pe.start[i + 1]; ++s) {
          const int64_t e = pe.edges_of[s];
          f.template of<B>(e, c, t);
          T *xa = gx + (p.child[e] * C + c) * A;
          const T *Ga = G.data();
          for (int64_t a = 0; a < A; ++a, Ga += B) {
            T acc = 0;
            for (int64_t b = 0; b < B; ++b) acc += Ga[b] * t[b];
            xa[a] += acc;
          }
        }
      }
    }
  });
}

// dF/dw and dF/dy (either output may be null), with u_c[b] = sum_a x[j, c, a] G_i[c, a, b]:
//   gw[e, c, l] = sum_{b of degree l} y[e, b] u_c[b],   gy[e, b] = sum_c w[e, c, l(b)] u_c[b]
template <int64_t B, typename T>
void partial_wy(const T *g, const T *x, const T *w, const T *y, const GroupedCG<T> &cg, T *gw,
                T *gy, const Pointers &p, const ParentEdges &pe, const Dims &d)
{
  const int64_t C = d.C, A = d.A, L1 = d.L1, K = d.K, AB = A * B;
  at::parallel_for(0, (int64_t) pe.start.size() - 1, 16, [&](int64_t i0, int64_t i1) {
    std::vector<T> G(C * AB);
    T u[B];
    for (int64_t i = i0; i < i1; ++i) {
      if (pe.start[i] == pe.start[i + 1]) continue;
      for (int64_t c = 0; c < C; ++c) cg.transpose(g + (i * C + c) * K, G.data() + c * AB);
      for (int64_t s = pe.start[i]; s < pe.start[i + 1]; ++s) {
        const int64_t e = pe.edges_of[s];
        const T *xj = x + p.child[e] * C * A;
        T *gye = gy ? gy + e * B : nullptr;
        if (gye)
          for (int64_t b = 0; b < B; ++b) gye[b] = 0;
        for (int64_t c = 0; c < C; ++c) {
          for (int64_t b = 0; b < B; ++b) u[b] = 0;
          const T *Ga = G.data() + c * AB;
          for (int64_t a = 0; a < A; ++a, Ga += B) {
            const T xv = xj[c * A + a];
            for (int64_t b = 0; b < B; ++b) u[b] += xv * Ga[b];
          }
          if (gw) {
            const T *ye = y + e * B;
            T *gwe = gw + (e * C + c) * L1;
            for (int64_t l = 0; l < degrees_of(B); ++l) {
              T acc = 0;
              for (int64_t b = l * l; b < (l + 1) * (l + 1); ++b) acc += ye[b] * u[b];
              gwe[l] = acc;
            }
          }
          if (gye) {
            const T *we = w + (e * C + c) * L1;
            for (int64_t l = 0; l < degrees_of(B); ++l)
              for (int64_t b = l * l; b < (l + 1) * (l + 1); ++b) gye[b] += we[l] * u[b];
          }
        }
      }
    }
  });
}

template <int64_t B, typename T>
void run_partial(int64_t which, const std::array<Tensor, 4> &args, const Pair &second,
                 const Tensor &val, const Graph &gr, Tensor *out, Tensor *out_y, const Pointers &p,
                 const ParentEdges &pe, const Dims &d)
{
  auto ptr = [&](const Tensor &t) { return t.defined() ? t.data_ptr<T>() : nullptr; };
  const GroupedCG<T> cg(gr.cg_ab.data_ptr<int64_t>(), gr.cg_k.data_ptr<int64_t>(),
                        val.data_ptr<T>(), d.nnz, d.K, d.A * d.B);
  const EdgeFactors<T> f{
      ptr(args[ARG_W]), ptr(args[ARG_Y]), ptr(second.w), ptr(second.y), d.C, d.L1};
  switch (which) {
  case ARG_G:
    partial_g<B, T>(ptr(args[ARG_X]), f, cg, out->data_ptr<T>(), p, pe, d);
    break;
  case ARG_X:
    partial_x<B, T>(ptr(args[ARG_G]), f, cg, out->data_ptr<T>(), p, pe, d);
    break;
  default: {    // dF/dw (and dF/dy into out_y) or dF/dy alone: one shared pass
    T *gw = which == ARG_W ? out->data_ptr<T>() : nullptr;
    T *gy = which == ARG_W ? (out_y ? out_y->data_ptr<T>() : nullptr) : out->data_ptr<T>();
    partial_wy<B, T>(ptr(args[ARG_G]), ptr(args[ARG_X]), ptr(args[ARG_W]), ptr(args[ARG_Y]), cg, gw,
                     gy, p, pe, d);
  }
  }
}

// The inputs that the partial with respect to args[which] needs (and dF/dy with `with_y`),
// contiguous, checked to be CPU tensors of one dtype; the others are dropped.  Returns one of
// them (its dtype and options are the output's).
Tensor prepare_inputs(int64_t which, std::array<Tensor, 4> &args, Pair &second, bool with_y)
{
  const char *op = "nbody::neighbourhood_sum";
  const char *names[4] = {"g", "x", "w", "y"};
  const bool need[4] = {which != ARG_G, which != ARG_X, which != ARG_W || with_y, which != ARG_Y};
  Tensor ref;
  for (int k = 0; k < 4; ++k) {
    if (!need[k]) {
      args[k] = Tensor();
      continue;
    }
    TORCH_CHECK(args[k].defined(), op, ": internal: ", names[k], " is missing");
    TORCH_CHECK(args[k].device().is_cpu(), op, ": ", names[k],
                " must be a CPU tensor (on CUDA the model uses its pure-torch path)");
    if (!ref.defined()) ref = args[k];
    TORCH_CHECK(args[k].scalar_type() == ref.scalar_type(), op, ": all inputs must have one dtype");
    args[k] = args[k].contiguous();
  }
  TORCH_CHECK(second.w.defined() == second.y.defined() &&
                  (!second.w.defined() || which == ARG_G || which == ARG_X),
              op, ": internal: a second (w, y) pair is for dF/dg and dF/dx only, and needs both");
  if (second.w.defined()) {
    TORCH_CHECK(second.w.sizes() == args[ARG_W].sizes() &&
                    second.y.sizes() == args[ARG_Y].sizes() &&
                    second.w.scalar_type() == ref.scalar_type() &&
                    second.y.scalar_type() == ref.scalar_type() && second.w.device().is_cpu() &&
                    second.y.device().is_cpu(),
                op, ": internal: the second (w, y) pair must match the first");
    second.w = second.w.contiguous();
    second.y = second.y.contiguous();
  }
  return ref;
}

// The sizes of one call, with the shapes of the inputs, the graph and the CG entries checked.
Dims check_shapes(const std::array<Tensor, 4> &args, const Graph &gr)
{
  const char *op = "nbody::neighbourhood_sum";
  const Tensor &g = args[ARG_G], &x = args[ARG_X], &w = args[ARG_W], &y = args[ARG_Y];
  Dims d{};
  d.E = gr.child.size(0);
  d.A = gr.d_in;
  d.B = gr.d_sh;
  d.L1 = degrees_of(d.B);
  d.K = gr.n_out;
  d.nnz = gr.cg_value.size(0);
  d.C = x.defined() ? x.size(1) : g.size(1);
  TORCH_CHECK(d.L1 * d.L1 == d.B, op, ": y has ", d.B, " columns, not (L+1)^2");
  TORCH_CHECK(!g.defined() || (g.dim() == 3 && g.size(0) == gr.n_parents && g.size(1) == d.C &&
                               g.size(2) == d.K),
              op, ": the gradient must be [n, C, K] = [", gr.n_parents, ", ", d.C, ", ", d.K, "]");
  TORCH_CHECK(!x.defined() || (x.dim() == 3 && x.size(0) == gr.n_children && x.size(2) == d.A), op,
              ": x must be [N, C, A] = [", gr.n_children, ", C, ", d.A, "]");
  TORCH_CHECK(!w.defined() ||
                  (w.dim() == 3 && w.size(0) == d.E && w.size(1) == d.C && w.size(2) == d.L1),
              op, ": w must be [E, C, L+1] = [", d.E, ", ", d.C, ", ", d.L1,
              "] (one row per edge, x's channels, one column per degree of y)");
  TORCH_CHECK(!y.defined() || (y.dim() == 2 && y.size(0) == d.E && y.size(1) == d.B), op,
              ": y must be [E, (L+1)^2] = [", d.E, ", ", d.B, "]");
  check_graph(gr, d);
  return d;
}

/* Evaluate the partial of F with respect to args[which] (and, with out_y, also dF/dy into
   *out_y); for which = g or x, plus the same partial with (w, y) replaced by the second pair.
   Checks shapes, dtypes, the graph and the CG entries; makes the inputs contiguous. */
Tensor partial(int64_t which, std::array<Tensor, 4> args, const Graph &gr, Tensor *out_y = nullptr,
               Pair second = Pair())
{
  const char *op = "nbody::neighbourhood_sum";
  const Tensor ref = prepare_inputs(which, args, second, out_y != nullptr);
  const Dims d = check_shapes(args, gr);

  auto opts = ref.options();
  Tensor out;
  switch (which) {
  case ARG_G:
    out = torch::empty({gr.n_parents, d.C, d.K}, opts);
    break;
  case ARG_X:
    out = torch::zeros({gr.n_children, d.C, d.A}, opts);
    break;
  case ARG_W:
    out = torch::zeros({d.E, d.C, d.L1}, opts);
    break;
  default:
    out = torch::zeros({d.E, d.B}, opts);
  }
  if (out_y) *out_y = torch::zeros({d.E, d.B}, opts);
  Tensor val = gr.cg_value.to(ref.scalar_type()).contiguous();
  const Pointers p{gr.child.data_ptr<int64_t>(), gr.center.data_ptr<int64_t>()};
  const ParentEdges pe(p.center, d.E, gr.n_parents);
  AT_DISPATCH_FLOATING_TYPES(ref.scalar_type(), "nbody::neighbourhood_sum", [&] {
    switch (d.B) {
    case 1:
      run_partial<1, scalar_t>(which, args, second, val, gr, &out, out_y, p, pe, d);
      break;
    case 4:
      run_partial<4, scalar_t>(which, args, second, val, gr, &out, out_y, p, pe, d);
      break;
    case 9:
      run_partial<9, scalar_t>(which, args, second, val, gr, &out, out_y, p, pe, d);
      break;
    case 16:
      run_partial<16, scalar_t>(which, args, second, val, gr, &out, out_y, p, pe, d);
      break;
    case 25:
      run_partial<25, scalar_t>(which, args, second, val, gr, &out, out_y, p, pe, d);
      break;
    default:
      TORCH_CHECK(false, op, ": harmonics up to l = 4 only (y has ", d.B, " columns)");
    }
  });
  return out;
}

// ---------------------------------------------------------------- autograd over the partials
using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// sizes: n_parents, n_children, A, B, K
Graph make_graph(const Tensor &child, const Tensor &center, const Tensor &cg_ab, const Tensor &cg_k,
                 const Tensor &cg_value, const std::vector<int64_t> &sizes)
{
  return Graph{child,    center, sizes[0], sizes[1], sizes[2],
               sizes[3], cg_ab,  cg_k,     cg_value, sizes[4]};
}

/* dF/dw and dF/dy of one (g, x, w, y) in one pass and one node. It is what the force derivative
   of training keeps (GradMode on): the two share their contraction over a, and its backward,
   <u, dF/dw> + <v, dF/dy> = F(g, x, u, y) + F(g, x, w, v), needs one pass for each of g, x and
   (w, y) instead of two. */
class PartialWY : public torch::autograd::Function<PartialWY> {
 public:
  static tensor_list forward(AutogradContext *ctx, const Tensor &g, const Tensor &x,
                             const Tensor &w, const Tensor &y, const Tensor &child,
                             const Tensor &center, const Tensor &cg_ab, const Tensor &cg_k,
                             const Tensor &cg_value, std::vector<int64_t> sizes)
  {
    ctx->save_for_backward({g, x, w, y, child, center, cg_ab, cg_k, cg_value});
    ctx->saved_data["sizes"] = sizes;
    ctx->set_materialize_grads(false);
    at::AutoDispatchBelowADInplaceOrView guard;
    Tensor gy;
    Tensor gw =
        partial(ARG_W, {g, x, w, y}, make_graph(child, center, cg_ab, cg_k, cg_value, sizes), &gy);
    return {gw, gy};
  }
  static tensor_list backward(AutogradContext *ctx, tensor_list grads);
};

class Partial : public torch::autograd::Function<Partial> {
 public:
  static Tensor forward(AutogradContext *ctx, int64_t which, const Tensor &g, const Tensor &x,
                        const Tensor &w, const Tensor &y, const Tensor &child, const Tensor &center,
                        const Tensor &cg_ab, const Tensor &cg_k, const Tensor &cg_value,
                        std::vector<int64_t> sizes)
  {
    ctx->save_for_backward({g, x, w, y, child, center, cg_ab, cg_k, cg_value});
    ctx->saved_data["which"] = which;
    ctx->saved_data["sizes"] = sizes;
    at::AutoDispatchBelowADInplaceOrView guard;
    return partial(which, {g, x, w, y}, make_graph(child, center, cg_ab, cg_k, cg_value, sizes));
  }

  // d<u, dF/dp(q, r, s)>/dq = dF/dq(p := u, r, s), and so on for r and s
  static tensor_list backward(AutogradContext *ctx, tensor_list grads)
  {
    auto s = ctx->get_saved_variables();
    const int64_t which = ctx->saved_data["which"].toInt();
    const std::vector<int64_t> sizes = ctx->saved_data["sizes"].toIntVector();
    std::array<Tensor, 4> args = {s[0], s[1], s[2], s[3]};
    args[which] = grads[0];
    tensor_list out(11);
    // needs_input_grad counts tensor inputs only: g, x, w, y, ...
    const bool want[4] = {ctx->needs_input_grad(0), ctx->needs_input_grad(1),
                          ctx->needs_input_grad(2), ctx->needs_input_grad(3)};
    if (want[ARG_W] && want[ARG_Y] && which != ARG_W && which != ARG_Y) {
      auto wy =
          PartialWY::apply(args[0], args[1], args[2], args[3], s[4], s[5], s[6], s[7], s[8], sizes);
      out[1 + ARG_W] = wy[0];
      out[1 + ARG_Y] = wy[1];
    }
    for (int k = 0; k < 4; ++k) {
      if (k == which || !want[k] || out[1 + k].defined()) continue;
      out[1 + k] = Partial::apply(k, args[0], args[1], args[2], args[3], s[4], s[5], s[6], s[7],
                                  s[8], sizes);
    }
    return out;
  }
};

tensor_list PartialWY::backward(AutogradContext *ctx, tensor_list grads)
{
  auto s = ctx->get_saved_variables();
  const std::vector<int64_t> sizes = ctx->saved_data["sizes"].toIntVector();
  const Tensor &g = s[0], &x = s[1], &w = s[2], &y = s[3], &u = grads[0], &v = grads[1];
  const bool want[4] = {ctx->needs_input_grad(0), ctx->needs_input_grad(1),
                        ctx->needs_input_grad(2), ctx->needs_input_grad(3)};
  tensor_list out(10);
  if (!u.defined() && !v.defined()) return out;
  if (torch::GradMode::is_enabled()) {
    // differentiated once more (third derivatives): the same sums, each partial its own node
    auto P = [&](int64_t k, std::array<Tensor, 4> in) {
      in[k] = x.new_empty({0});
      return Partial::apply(k, in[0], in[1], in[2], in[3], s[4], s[5], s[6], s[7], s[8], sizes);
    };
    auto both = [&](int64_t k, std::array<Tensor, 4> in) {
      Tensor a, b;
      if (u.defined()) a = P(k, {in[0], in[1], u, y});
      if (v.defined()) b = P(k, {in[0], in[1], w, v});
      return !a.defined() ? b : !b.defined() ? a : a + b;
    };
    if (want[ARG_G]) out[ARG_G] = both(ARG_G, {Tensor(), x, Tensor(), Tensor()});
    if (want[ARG_X]) out[ARG_X] = both(ARG_X, {g, Tensor(), Tensor(), Tensor()});
    if (want[ARG_W] && v.defined()) out[ARG_W] = P(ARG_W, {g, x, Tensor(), v});
    if (want[ARG_Y] && u.defined()) out[ARG_Y] = P(ARG_Y, {g, x, u, Tensor()});
    return out;
  }
  const Graph gr = make_graph(s[4], s[5], s[6], s[7], s[8], sizes);
  // dF/dg and dF/dx: one pass each over the pairs (u, y) and (w, v)
  auto both = [&](int64_t k, std::array<Tensor, 4> in) {
    if (!u.defined()) return partial(k, {in[0], in[1], w, v}, gr);
    return partial(k, {in[0], in[1], u, y}, gr, nullptr, v.defined() ? Pair{w, v} : Pair());
  };
  if (want[ARG_G]) out[ARG_G] = both(ARG_G, {Tensor(), x, Tensor(), Tensor()});
  if (want[ARG_X]) out[ARG_X] = both(ARG_X, {g, Tensor(), Tensor(), Tensor()});
  // dF/dw(g, x, y := v) and dF/dy(g, x, w := u): one shared pass
  if (want[ARG_W] && want[ARG_Y] && u.defined() && v.defined()) {
    Tensor gy;
    out[ARG_W] = partial(ARG_W, {g, x, u, v}, gr, &gy);
    out[ARG_Y] = gy;
  } else {
    if (want[ARG_W] && v.defined()) out[ARG_W] = partial(ARG_W, {g, x, Tensor(), v}, gr);
    if (want[ARG_Y] && u.defined()) out[ARG_Y] = partial(ARG_Y, {g, x, u, Tensor()}, gr);
  }
  return out;
}

std::vector<int64_t> call_sizes(const Tensor &x, const Tensor &y, int64_t n_parents, int64_t n_out)
{
  TORCH_CHECK(x.dim() == 3 && y.dim() == 2,
              "nbody::neighbourhood_sum: x must be [N, C, A] and y [E, (L+1)^2]");
  return {n_parents, x.size(0), x.size(2), y.size(1), n_out};
}

Tensor neighbourhood_sum_cpu(const Tensor &x, const Tensor &w, const Tensor &y, const Tensor &child,
                             const Tensor &center, int64_t n_parents, const Tensor &cg_ab,
                             const Tensor &cg_k, const Tensor &cg_value, int64_t n_out)
{
  auto sizes = call_sizes(x, y, n_parents, n_out);
  return partial(ARG_G, {Tensor(), x, w, y},
                 make_graph(child.contiguous(), center.contiguous(), cg_ab.contiguous(),
                            cg_k.contiguous(), cg_value, sizes));
}

Tensor neighbourhood_sum_autograd(const Tensor &x, const Tensor &w, const Tensor &y,
                                  const Tensor &child, const Tensor &center, int64_t n_parents,
                                  const Tensor &cg_ab, const Tensor &cg_k, const Tensor &cg_value,
                                  int64_t n_out)
{
  auto sizes = call_sizes(x, y, n_parents, n_out);
  // g is not read: an empty stand-in, on x's device and dtype
  return Partial::apply(ARG_G, x.new_empty({0}), x, w, y, child.contiguous(), center.contiguous(),
                        cg_ab.contiguous(), cg_k.contiguous(), cg_value.detach(), sizes);
}

}    // namespace

TORCH_LIBRARY(nbody, m)
{
  m.def(
      "neighbourhood_sum(Tensor x, Tensor w, Tensor y, Tensor child, Tensor center, int n_parents, "
      "Tensor cg_ab, Tensor cg_k, Tensor cg_value, int n_out) -> Tensor");
}

TORCH_LIBRARY_IMPL(nbody, CPU, m)
{
  m.impl("neighbourhood_sum", &neighbourhood_sum_cpu);
}

TORCH_LIBRARY_IMPL(nbody, Autograd, m)
{
  m.impl("neighbourhood_sum", &neighbourhood_sum_autograd);
}
