// Geometry and output checks of pair_style nbody: see nbody_checks.h.
#include "nbody_checks.h"

#include <cctype>
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
  // The level-1 edges are enough: the nodes of every level k >= 1 are a prefix of the level-1
  // nodes, so a parent-child pair of a higher level also joins two level-1 nodes (or a level-1
  // node and a leaf), and as min_distance < cutoff it is among the level-1 edges too.
  if (graph.levels == 0) return false;
  const double minsq = min_distance * min_distance;
  const double *d = graph.edge_vectors[0].data();
  const int64_t E = graph.num_edges(0);
  for (int64_t a = 0; a < E; ++a) {
    const double rsq =
        d[3 * a] * d[3 * a] + d[3 * a + 1] * d[3 * a + 1] + d[3 * a + 2] * d[3 * a + 2];
    if (rsq < minsq) {
      level = 0;
      edge = a;
      distance = std::sqrt(rsq);
      return true;
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

bool find_nonfinite_gradient(const LocalHierarchy &graph, const double *const *grads, int &level,
                             int64_t &edge)
{
  for (int k = 0; k < graph.levels; ++k) {
    if (!grads[k]) continue;
    const int64_t a = first_nonfinite(grads[k], 3 * graph.num_edges(k));
    if (a < 0) continue;
    level = k;
    edge = a / 3;
    return true;
  }
  return false;
}

bool looks_like_element(const std::string &word)
{
  return word == "NULL" || (word.size() <= 2 && std::isupper((unsigned char) word[0]) &&
                            (word.size() == 1 || std::islower((unsigned char) word[1])));
}

}    // namespace NBodyLMP
