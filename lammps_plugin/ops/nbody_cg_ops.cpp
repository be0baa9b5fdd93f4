/* ----------------------------------------------------------------------
   The Clebsch-Gordan transform as sparse operators (eq. 6-7 of the paper, §3; the CG matrices
   of python/nbody_lmp/nn/tensor_product.py), in libnbody_ops.so beside
   nbody::neighbourhood_sum (nbody_ops.cpp); docs/lammps.md, "Performance notes".

   A CG matrix M [D1 * D2, D_out] couples component a of the first factor and b of the second to
   output k only where the selection rules allow: for the parts 0e + 1o + 2e, 83 of its 2835
   entries are not zero. Stored as its non-zero entries (a, b, k, M_abk), the transform costs
   83 multiply-adds per channel instead of a dense 81 x 35 product, and the product of two states
   needs no 81-entry outer product per channel.

     nbody::cg_linear(t [m, D1*D2], ab [nnz], k [nnz], value [nnz], n_out)
         y[r, k] = sum_{entries} value * t[r, ab]                     (t: an outer product, summed)
     nbody::cg_product(u [m, D1], v [m, D2], a [nnz], b [nnz], k [nnz], value [nnz], n_out)
         y[r, k] = sum_{entries} value * u[r, a] * v[r, b]            (CG(u (x) v), row by row)

   The values are constants of the architecture (exact CG coefficients): never differentiated.
   cg_linear's backward is its transpose, and the transpose's is cg_linear again. cg_product is
   the gradient with respect to g of F(g, u, v) = sum value g[r, k] u[r, a] v[r, b]; its backward is
   made of F's other partials, and theirs of F's partials again (the pattern of nbody_ops.cpp):
   closed under differentiation, so training on forces works. Rows are split among threads.
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
using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

void check_entries(const std::vector<Tensor> &index, const Tensor &value,
                   const std::vector<int64_t> &bounds, const char *op)
{
  const int64_t nnz = value.size(0);
  TORCH_CHECK(value.dim() == 1 && value.device().is_cpu(), op, ": value must be a 1-d CPU tensor");
  for (size_t j = 0; j < index.size(); ++j) {
    const Tensor &ix = index[j];
    TORCH_CHECK(ix.dim() == 1 && ix.size(0) == nnz && ix.scalar_type() == torch::kLong &&
                    ix.is_contiguous() && ix.device().is_cpu(),
                op, ": the entry indices must be contiguous int64 CPU vectors of value's length");
    const int64_t *p = ix.data_ptr<int64_t>();
    for (int64_t t = 0; t < nnz; ++t)
      TORCH_CHECK(p[t] >= 0 && p[t] < bounds[j], op, ": entry ", t, " has index ", p[t],
                  " out of [0, ", bounds[j], ")");
  }
}

// ---------------------------------------------------------------- cg_linear and its transpose
// forward: y[r, k[t]] += value[t] t[r, ab[t]];  transpose: g_t[r, ab[t]] += value[t] g[r, k[t]]
Tensor linear_map(const Tensor &in_, const Tensor &ab, const Tensor &k, const Tensor &value_,
                  int64_t n_out, bool transposed)
{
  const char *op = "nbody::cg_linear";
  TORCH_CHECK(in_.dim() == 2 && in_.device().is_cpu(), op, ": input must be a 2-d CPU tensor");
  Tensor in = in_.contiguous(), value = value_.to(in.scalar_type()).contiguous();
  const int64_t m = in.size(0), d_in = in.size(1);
  const Tensor &from = transposed ? k : ab, &to = transposed ? ab : k;
  check_entries({from, to}, value, {d_in, n_out}, op);
  Tensor out = torch::zeros({m, n_out}, in.options());
  const int64_t nnz = value.size(0);
  const int64_t *src = from.data_ptr<int64_t>(), *dst = to.data_ptr<int64_t>();
  AT_DISPATCH_FLOATING_TYPES(in.scalar_type(), "nbody::cg_linear", [&] {
    const scalar_t *x = in.data_ptr<scalar_t>(), *val = value.data_ptr<scalar_t>();
    scalar_t *y = out.data_ptr<scalar_t>();
    at::parallel_for(0, m, 256, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const scalar_t *xr = x + r * d_in;
        scalar_t *yr = y + r * n_out;
        for (int64_t t = 0; t < nnz; ++t) yr[dst[t]] += val[t] * xr[src[t]];
      }
    });
  });
  return out;
}

class LinearMap : public torch::autograd::Function<LinearMap> {
 public:
  static Tensor forward(AutogradContext *ctx, const Tensor &in, const Tensor &ab, const Tensor &k,
                        const Tensor &value, int64_t n_out, bool transposed)
  {
    ctx->save_for_backward({ab, k, value});
    ctx->saved_data["n_in"] = in.size(1);
    ctx->saved_data["transposed"] = transposed;
    at::AutoDispatchBelowADInplaceOrView guard;
    return linear_map(in, ab, k, value, n_out, transposed);
  }
  static tensor_list backward(AutogradContext *ctx, tensor_list grads)
  {
    auto s = ctx->get_saved_variables();
    const bool transposed = ctx->saved_data["transposed"].toBool();
    Tensor g =
        LinearMap::apply(grads[0], s[0], s[1], s[2], ctx->saved_data["n_in"].toInt(), !transposed);
    return {g, Tensor(), Tensor(), Tensor(), Tensor(), Tensor()};
  }
};

Tensor cg_linear_cpu(const Tensor &t, const Tensor &ab, const Tensor &k, const Tensor &value,
                     int64_t n_out)
{
  return linear_map(t, ab.contiguous(), k.contiguous(), value, n_out, false);
}

Tensor cg_linear_autograd(const Tensor &t, const Tensor &ab, const Tensor &k, const Tensor &value,
                          int64_t n_out)
{
  return LinearMap::apply(t, ab.contiguous(), k.contiguous(), value, n_out, false);
}

// ---------------------------------------------------------------- cg_product: partials of F
enum Arg { ARG_G = 0, ARG_U = 1, ARG_V = 2 };

struct Entries {
  Tensor a, b, k, value;
  int64_t d1, d2, n_out;
};

// dF/d(args[which]) with args[which] not read
Tensor product_partial(int64_t which, std::array<Tensor, 3> args, const Entries &en)
{
  const char *op = "nbody::cg_product";
  Tensor ref;
  for (int j = 0; j < 3; ++j) {
    if (j == which) continue;
    TORCH_CHECK(args[j].defined() && args[j].dim() == 2 && args[j].device().is_cpu(), op,
                ": u, v (and the gradient) must be 2-d CPU tensors");
    if (!ref.defined()) ref = args[j];
    TORCH_CHECK(args[j].scalar_type() == ref.scalar_type() && args[j].size(0) == ref.size(0), op,
                ": u and v must have one dtype and one row per channel of each node");
    args[j] = args[j].contiguous();
  }
  const int64_t widths[3] = {en.n_out, en.d1, en.d2};
  for (int j = 0; j < 3; ++j)
    if (j != which)
      TORCH_CHECK(args[j].size(1) == widths[j], op, ": ",
                  (j == ARG_U   ? "u"
                   : j == ARG_V ? "v"
                                : "the gradient"),
                  " has ", args[j].size(1), " columns, the CG entries need ", widths[j]);
  check_entries({en.a, en.b, en.k}, en.value, {en.d1, en.d2, en.n_out}, op);
  const int64_t m = ref.size(0), nnz = en.value.size(0);
  Tensor value = en.value.to(ref.scalar_type()).contiguous();
  Tensor out = torch::empty({m, widths[which]}, ref.options());
  const int64_t *ia = en.a.data_ptr<int64_t>(), *ib = en.b.data_ptr<int64_t>(),
                *ik = en.k.data_ptr<int64_t>();
  // the entries grouped by the output's index (nbody_cg_entries.h): each output one register sum
  const int64_t *key = which == ARG_G ? ik : which == ARG_U ? ia : ib;
  const int64_t *f1 = which == ARG_G ? ia : ik,
                *f2 = which == ARG_V ? ia : ib;    // the two factors' indices
  const nbody::EntryGroups groups(key, nnz);
  const std::vector<int64_t> i1 = groups.gather(f1), i2 = groups.gather(f2);
  AT_DISPATCH_FLOATING_TYPES(ref.scalar_type(), "nbody::cg_product", [&] {
    const std::vector<scalar_t> val = groups.gather(value.data_ptr<scalar_t>());
    // out[r, key] = sum value * p[r, i1] * q[r, i2], with (p, q) = (u, v), (g, v) or (g, u)
    const int j1 = which == ARG_G ? ARG_U : ARG_G, j2 = which == ARG_V ? ARG_U : ARG_V;
    const scalar_t *P = args[j1].data_ptr<scalar_t>(), *Q = args[j2].data_ptr<scalar_t>();
    const int64_t w1 = widths[j1], w2 = widths[j2], W = widths[which], G = groups.groups();
    scalar_t *o = out.data_ptr<scalar_t>();
    at::parallel_for(0, m, 256, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const scalar_t *pr = P + r * w1, *qr = Q + r * w2;
        scalar_t *orow = o + r * W;
        for (int64_t q = 0; q < W; ++q) orow[q] = 0;
        for (int64_t s = 0; s < G; ++s) {
          scalar_t acc = 0;
          for (int64_t t = groups.start[s]; t < groups.start[s + 1]; ++t)
            acc += val[t] * pr[i1[t]] * qr[i2[t]];
          orow[groups.key[s]] = acc;
        }
      }
    });
  });
  return out;
}

class ProductPartial : public torch::autograd::Function<ProductPartial> {
 public:
  static Tensor forward(AutogradContext *ctx, int64_t which, const Tensor &g, const Tensor &u,
                        const Tensor &v, const Tensor &a, const Tensor &b, const Tensor &k,
                        const Tensor &value, int64_t d1, int64_t d2, int64_t n_out)
  {
    ctx->save_for_backward({g, u, v, a, b, k, value});
    ctx->saved_data["which"] = which;
    ctx->saved_data["d1"] = d1;
    ctx->saved_data["d2"] = d2;
    ctx->saved_data["n_out"] = n_out;
    at::AutoDispatchBelowADInplaceOrView guard;
    return product_partial(which, {g, u, v}, Entries{a, b, k, value, d1, d2, n_out});
  }
  // d<h, dF/dp(q, r)>/dq = dF/dq(p := h, r)
  static tensor_list backward(AutogradContext *ctx, tensor_list grads)
  {
    auto s = ctx->get_saved_variables();
    const int64_t which = ctx->saved_data["which"].toInt();
    const int64_t d1 = ctx->saved_data["d1"].toInt(), d2 = ctx->saved_data["d2"].toInt(),
                  n_out = ctx->saved_data["n_out"].toInt();
    std::array<Tensor, 3> args = {s[0], s[1], s[2]};
    args[which] = grads[0];
    tensor_list out(11);
    for (int j = 0; j < 3; ++j) {
      if (j == which || !ctx->needs_input_grad(j))
        continue;    // needs_input_grad counts tensors: g, u, v, ...
      out[1 + j] = ProductPartial::apply(j, args[0], args[1], args[2], s[3], s[4], s[5], s[6], d1,
                                         d2, n_out);
    }
    return out;
  }
};

Tensor cg_product_cpu(const Tensor &u, const Tensor &v, const Tensor &a, const Tensor &b,
                      const Tensor &k, const Tensor &value, int64_t n_out)
{
  TORCH_CHECK(u.dim() == 2 && v.dim() == 2, "nbody::cg_product: u and v must be [rows, D]");
  return product_partial(
      ARG_G, {Tensor(), u, v},
      Entries{a.contiguous(), b.contiguous(), k.contiguous(), value, u.size(1), v.size(1), n_out});
}

Tensor cg_product_autograd(const Tensor &u, const Tensor &v, const Tensor &a, const Tensor &b,
                           const Tensor &k, const Tensor &value, int64_t n_out)
{
  TORCH_CHECK(u.dim() == 2 && v.dim() == 2, "nbody::cg_product: u and v must be [rows, D]");
  // g is not read: an empty stand-in, on u's device and dtype
  return ProductPartial::apply(ARG_G, u.new_empty({0}), u, v, a.contiguous(), b.contiguous(),
                               k.contiguous(), value.detach(), u.size(1), v.size(1), n_out);
}

}    // namespace

TORCH_LIBRARY_FRAGMENT(nbody, m)
{
  m.def("cg_linear(Tensor t, Tensor ab, Tensor k, Tensor value, int n_out) -> Tensor");
  m.def("cg_product(Tensor u, Tensor v, Tensor a, Tensor b, Tensor k, Tensor value, int n_out) -> "
        "Tensor");
}

TORCH_LIBRARY_IMPL(nbody, CPU, m)
{
  m.impl("cg_linear", &cg_linear_cpu);
  m.impl("cg_product", &cg_product_cpu);
}

TORCH_LIBRARY_IMPL(nbody, Autograd, m)
{
  m.impl("cg_linear", &cg_linear_autograd);
  m.impl("cg_product", &cg_product_autograd);
}
