/* -*- c++ -*- ----------------------------------------------------------
   compute nbody/deviation: the model deviation of a pair_style nbody ensemble as a per-atom
   array [force deviation, energy deviation] and a global vector of its max/min/mean over the
   group (user documentation: docs/lammps.md, "Several models: model deviation").
------------------------------------------------------------------------- */

#ifdef COMPUTE_CLASS
// clang-format off
ComputeStyle(nbody/deviation,ComputeNBodyDeviation);
// clang-format on
#else

#ifndef LMP_COMPUTE_NBODY_DEVIATION_H
#define LMP_COMPUTE_NBODY_DEVIATION_H

#include "compute.h"

namespace LAMMPS_NS {

class PairNBody;

class ComputeNBodyDeviation : public Compute {
 public:
  ComputeNBodyDeviation(class LAMMPS *, int, char **);
  ~ComputeNBodyDeviation() override;
  void init() override;
  void compute_peratom() override;
  void compute_vector() override;
  double memory_usage() override;

  bool uses_pair(const PairNBody *p) const { return p == pair; }
  // will a compute nbody/deviation of `p` be invoked on `step`?  (dump, thermo, fix ave/...:
  // LAMMPS records those steps in computes with timeflag set, Modify::addstep_compute)
  static bool invoked_on(class Modify *modify, const PairNBody *p, bigint step);

 private:
  PairNBody *pair;
  int nmax;
  void check_step(const char *what);
};

}    // namespace LAMMPS_NS

#endif
#endif
