// Geometry and output checks of pair_style nbody: see nbody_checks.h.
#include "nbody_checks.h"

#include <cctype>
#include <cmath>
#include <cstdio>

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

bool find_edge_below_training(const LocalHierarchy &graph, int64_t n_owned,
                              const std::vector<double> &shortest, int64_t &edge, double &distance,
                              double &limit)
{
  if (graph.levels == 0 || shortest.empty()) return false;
  const int64_t S = (int64_t) std::llround(std::sqrt((double) shortest.size()));
  const double *d = graph.edge_vectors[0].data();
  const int64_t *index = graph.edge_index[0].data();
  const int64_t E = graph.num_edges(0);
  for (int64_t a = 0; a < E; ++a) {
    const int64_t parent = index[a], child = index[E + a];
    if (parent >= n_owned) continue;
    const double r_min = shortest[graph.node_species[parent] * S + graph.node_species[child]];
    const double rsq =
        d[3 * a] * d[3 * a] + d[3 * a + 1] * d[3 * a + 1] + d[3 * a + 2] * d[3 * a + 2];
    if (rsq < r_min * r_min) {
      edge = a;
      distance = std::sqrt(rsq);
      limit = r_min;
      return true;
    }
  }
  return false;
}

std::string below_training_message(const LocalHierarchy &graph,
                                   const std::vector<std::string> &species,
                                   const std::vector<double> &shortest, const int *tag,
                                   int64_t step, const std::string &file)
{
  int64_t edge = 0;
  double r = 0.0, r_min = 0.0;
  if (!find_edge_below_training(graph, graph.n_nodes.back(), shortest, edge, r, r_min)) return "";
  const int64_t E = graph.num_edges(0);
  const int i = graph.parent_atom(0, edge), j = graph.child_atom(0, edge);
  const std::string pair = species[graph.node_species[graph.edge_index[0][edge]]] + "-" +
                           species[graph.node_species[graph.edge_index[0][E + edge]]];
  char buf[160];
  std::snprintf(buf, sizeof(buf), "%.3f A apart at step %lld, closer than any %s pair", r,
                (long long) step, pair.c_str());
  char lim[32];
  std::snprintf(lim, sizeof(lim), "%.3f A", r_min);
  return "pair_style nbody: atoms with tags " + std::to_string(tag ? tag[i] : i) + " and " +
         std::to_string(tag ? tag[j] : j) + " (" + pair + ") are " + buf +
         " in the training data of " + file + " (" + lim +
         "): the model extrapolates there; add such configurations to the training data, or "
         "train with model.zbl: true (warned once)";
}

bool looks_like_element(const std::string &word)
{
  return word == "NULL" || (word.size() <= 2 && std::isupper((unsigned char) word[0]) &&
                            (word.size() == 1 || std::islower((unsigned char) word[1])));
}

}    // namespace NBodyLMP
