// Per-phase wall time of pair_style nbody, summed over its force evaluations and logged at the
// end of a run when NBODY_LMP_TIMING is set (docs/lammps.md, "Performance notes"): graph build,
// model forward, backward, and the tally of forces and virials, with the average number of
// nodes and edges per level.  Plain C++17 and MPI, like nbody_deviation.h.
#ifndef NBODY_LMP_TIMING_H
#define NBODY_LMP_TIMING_H

#include "nbody_graph.h"
#include "nbody_model.h"

#include <mpi.h>

#include <string>
#include <vector>

namespace NBodyLMP {

// seconds since an arbitrary start (a steady clock)
double wall_time();

class PhaseTimes {
 public:
  // one force evaluation: its graph (built in `seconds`)
  void add_graph(const LocalHierarchy &graph, double seconds);
  EvaluationTimes &model() { return model_; }    // forward and backward, added by the models
  void add_tally(double seconds) { tally_ += seconds; }
  long calls() const { return calls_; }

  // The report (max and average over the ranks of `world`; nodes and edges of this rank), for
  // rank 0 to log; collective.  Starts the sums again from zero.
  std::string report(MPI_Comm world);

 private:
  long calls_ = 0;
  double graph_ = 0.0, tally_ = 0.0;
  EvaluationTimes model_;
  std::vector<double> nodes_, edges_;    // summed n_nodes[k] and E_k
};

}    // namespace NBodyLMP

#endif
