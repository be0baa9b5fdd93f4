// Geometry and output checks of pair_style nbody: see nbody_checks.h.
#include "nbody_checks.h"

#include <cmath>

namespace NBodyLMP {

int first_nonfinite_position(int n, const double *const *x)
{
  for (int i = 0; i < n; ++i)
    if (!std::isfinite(x[i][0]) || !std::isfinite(x[i][1]) || !std::isfinite(x[i][2])) return i;
  return -1;
}

bool find_short_edge(const LocalHierarchy &graph, double min_distance, int &level, int64_t &edge,
                     double &distance)
{
  const double minsq = min_distance * min_distance;
  for (int k = 0; k < graph.levels; ++k) {
    const double *d = graph.edge_vectors[k].data();
    const int64_t E = graph.num_edges(k);
    for (int64_t a = 0; a < E; ++a) {
      const double rsq = d[3 * a] * d[3 * a] + d[3 * a + 1] * d[3 * a + 1] + d[3 * a + 2] * d[3 * a + 2];
      if (rsq < minsq) {
        level = k;
        edge = a;
        distance = std::sqrt(rsq);
        return true;
      }
    }
  }
  return false;
}

int64_t first_nonfinite(const double *v, int64_t n)
{
  for (int64_t a = 0; a < n; ++a)
    if (!std::isfinite(v[a])) return a;
  return -1;
}

}    // namespace NBodyLMP
