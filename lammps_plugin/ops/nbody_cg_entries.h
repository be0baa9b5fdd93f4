/* ----------------------------------------------------------------------
   The non-zero entries of a CG matrix (eq. 6-7 of the paper, §3), grouped by one of their
   indices, for the sparse CG kernels of nbody_ops.cpp and nbody_cg_ops.cpp.

   A sum over entries "out[key[t]] += value[t] * ..." in entry order chains each store to the
   next load of the same output. Grouped by key, each output is one register sum, written once:
       for each group s:  out[key_s] = sum_{t in group s} value[t] * ...
------------------------------------------------------------------------- */

#ifndef NBODY_CG_ENTRIES_H
#define NBODY_CG_ENTRIES_H

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

namespace nbody {

struct EntryGroups {
  std::vector<int64_t> order;    // entries, sorted (stably) by key
  std::vector<int64_t> start;    // group s is order[start[s] .. start[s + 1])
  std::vector<int64_t> key;      // the key of group s

  EntryGroups(const int64_t *keys, int64_t nnz) : order(nnz)
  {
    std::iota(order.begin(), order.end(), int64_t(0));
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return keys[a] < keys[b]; });
    for (int64_t q = 0; q < nnz; ++q)
      if (q == 0 || keys[order[q]] != keys[order[q - 1]]) {
        start.push_back(q);
        key.push_back(keys[order[q]]);
      }
    start.push_back(nnz);
  }
  int64_t groups() const { return (int64_t) key.size(); }

  // out[key_s] = sum_{t in group s} val[t] * in[other[t]] (other, val in group order); out, of
  // `width` entries, is zeroed first
  template <typename T>
  void sum_into(const std::vector<int64_t> &other, const std::vector<T> &val, const T *in, T *out,
                int64_t width) const
  {
    for (int64_t q = 0; q < width; ++q) out[q] = 0;
    for (int64_t s = 0; s < groups(); ++s) {
      T acc = 0;
      for (int64_t t = start[s]; t < start[s + 1]; ++t) acc += val[t] * in[other[t]];
      out[key[s]] = acc;
    }
  }

  // the entries' other indices and values, permuted into group order
  template <typename T> std::vector<T> gather(const T *v) const
  {
    std::vector<T> out(order.size());
    for (size_t q = 0; q < order.size(); ++q) out[q] = v[order[q]];
    return out;
  }
};

}    // namespace nbody

#endif
