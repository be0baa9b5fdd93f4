// Per-phase wall time of pair_style nbody: see nbody_timing.h.
#include "nbody_timing.h"

#include <chrono>
#include <cstdio>

namespace NBodyLMP {

double wall_time()
{
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void PhaseTimes::add_graph(const LocalHierarchy &graph, double seconds)
{
  graph_ += seconds;
  calls_++;
  const int K = graph.levels;
  nodes_.resize(K + 1, 0.0);
  edges_.resize(K, 0.0);
  for (int k = 0; k <= K; k++) nodes_[k] += (double) graph.n_nodes[k];
  for (int k = 0; k < K; k++) edges_[k] += (double) graph.num_edges(k);
}

std::string PhaseTimes::report(MPI_Comm world)
{
  int nprocs = 1;
  MPI_Comm_size(world, &nprocs);
  double local[4] = {graph_, model_.forward, model_.backward, tally_};
  double most[4], sum[4];
  MPI_Allreduce(local, most, 4, MPI_DOUBLE, MPI_MAX, world);
  MPI_Allreduce(local, sum, 4, MPI_DOUBLE, MPI_SUM, world);

  const char *names[4] = {"graph build", "model forward", "backward (autograd)",
                          "forces/virial tally"};
  char line[256];
  std::snprintf(line, sizeof(line),
                "pair nbody timing over %ld calls (seconds; max and average over %d ranks):\n",
                calls_, nprocs);
  std::string text = line;
  for (int k = 0; k < 4; k++) {
    std::snprintf(line, sizeof(line), "  %-22s %10.4f %10.4f   %8.3f ms/call\n", names[k], most[k],
                  sum[k] / nprocs, 1e3 * most[k] / calls_);
    text += line;
  }
  std::string nodes, edges;
  for (double n : nodes_) {
    std::snprintf(line, sizeof(line), " %.0f", n / calls_);
    nodes += line;
  }
  for (double e : edges_) {
    std::snprintf(line, sizeof(line), " %.0f", e / calls_);
    edges += line;
  }
  text += "  rank 0 average: nodes per level (0..K)" + nodes + "; edges per level (1..K)" + edges +
          "\n";

  nodes_.assign(nodes_.size(), 0.0);
  edges_.assign(edges_.size(), 0.0);
  calls_ = 0;
  graph_ = tally_ = 0.0;
  model_ = EvaluationTimes();
  return text;
}

}    // namespace NBodyLMP
