/* -*- c++ -*- ----------------------------------------------------------
   pair_style nbody: N-body network potentials (nbody-lmp) in LAMMPS.  The LAMMPS side only:
   settings, pair_coeff, the local hierarchy from the neighbour lists (nbody_graph.h), and the
   sums of forces, energies, virials and model deviations from what the models return
   (nbody_model.h, which holds libtorch), by the formulas of docs/model-format.md ("Forces and
   virial").  User documentation: docs/lammps.md.
------------------------------------------------------------------------- */

#ifdef PAIR_CLASS
// clang-format off
PairStyle(nbody,PairNBody);
// clang-format on
#else

#ifndef LMP_PAIR_NBODY_H
#define LMP_PAIR_NBODY_H

#include "pair.h"

#include "nbody_deviation.h"
#include "nbody_graph.h"
#include "nbody_model.h"
#include "nbody_timing.h"

#include <string>
#include <unordered_map>
#include <vector>

namespace LAMMPS_NS {

class PairNBody : public Pair {
 public:
  PairNBody(class LAMMPS *);
  ~PairNBody() override;

  void compute(int, int) override;
  void settings(int, char **) override;
  void coeff(int, char **) override;
  void init_style() override;
  double init_one(int, int) override;
  double memory_usage() override;
  void finish() override;
  int pack_reverse_comm(int, int, double *) override;
  void unpack_reverse_comm(int, int *, double *) override;

  // ensemble of models (docs/lammps.md, "Several models: model deviation"); read by
  // compute nbody/deviation
  int num_models() const { return (int) models.size(); }
  bigint deviation_step() const { return dev_step; }    // -1: never evaluated all models
  // per owned atom of the last deviation step: [force deviation, energy deviation]
  const double *atom_deviation(int i) const { return ensemble.deviation(i); }
  // per owned atom of the last deviation step: the energy of each model (num_models() values)
  const double *atom_model_energies(int i) const { return ensemble.energies(i); }
  bool type_has_model(int itype) const { return type_species[itype] >= 0; }

 protected:
  NBodyLMP::DeviceRequest device_request;
  NBodyLMP::DtypeRequest dtype_request;

  std::vector<NBodyLMP::NBodyModel> models;    // pair_coeff order; models[0] drives the dynamics
  bool models_placed;                          // on the device of device_request and dtype_request
  double receptive_field;                      // of models[0]: >= the sum of its level cutoffs
  double cutmax;                               // largest level cutoff: the neighbour-list cutoff
  int *type_species;                           // LAMMPS type -> model species index, -1 = NULL

  NBodyLMP::HierarchyBuilder builder;
  NBodyLMP::LocalHierarchy graph;
  std::vector<int> atom_species;    // per atom (owned + ghost): model species or -1

  // ghost -> owned atom of which it is a periodic image on this rank (docs/lammps.md, "Ghost
  // atoms"): such a ghost is not a node of its own; NBODY_LMP_FOLD=0 turns this off
  bool fold_images;
  std::vector<int> fold;
  std::unordered_map<tagint, int> owned_of_tag;
  void update_fold(int nlocal, int nall);

  // per-phase wall time, logged by finish() when NBODY_LMP_TIMING is set (docs/lammps.md)
  bool timing;
  NBodyLMP::PhaseTimes times;

  // model deviation: models 1..M-1 are evaluated only on deviation steps (out_freq, or a step
  // on which a compute nbody/deviation is invoked); their forces are summed onto the owners
  // of ghost atoms by reverse communication before the deviation is taken
  int out_freq;    // 0: no model-deviation file
  std::string out_file;
  NBodyLMP::DeviationFile out;    // open on rank 0
  bigint last_written;
  bigint dev_step;
  NBodyLMP::EnsembleStep ensemble;
  void finish_deviation(int nlocal);

  void allocate();
  void load_models(const std::vector<std::string> &files);
  void place_models();
  void build_graph(int nlocal, int nall);
  void run_model(int index, int eflag_atom_local, int vflag_atom_local, bool deviation_step);
  void check_distances();
  bool warned_below_training;    // warned once that atoms came closer than the training data
  void warn_below_training();    // once: closer than training (docs/theory.md)
  void check_outputs(int index, const double *energies, const std::vector<const double *> &grads);
};

}    // namespace LAMMPS_NS

#endif
#endif
