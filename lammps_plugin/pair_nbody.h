/* -*- c++ -*- ----------------------------------------------------------
   pair_style nbody: N-body network potentials (nbody-lmp) in LAMMPS through libtorch.
   Implements DESIGN.md §5 (LAMMPS side) on the model contract of docs/model-format.md;
   user documentation: docs/lammps.md.
------------------------------------------------------------------------- */

#ifdef PAIR_CLASS
// clang-format off
PairStyle(nbody,PairNBody);
// clang-format on
#else

#ifndef LMP_PAIR_NBODY_H
#define LMP_PAIR_NBODY_H

// LAMMPS headers first, libtorch after them (both bundle {fmt}; LAMMPS's must win in LAMMPS code).
#include "pair.h"

#include "nbody_graph.h"

#include <memory>
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
  int num_models() const { return (int) model_files.size(); }
  bigint deviation_step() const { return dev_step; }    // -1: never evaluated all models
  // per owned atom of the last deviation step: [force deviation, energy deviation]
  double **deviation_array() const { return deviation; }
  // per owned atom of the last deviation step: the energy of each model (num_models() values)
  const double *atom_model_energies(int i) const { return &dev_energies[(size_t) i * num_models()]; }
  bool type_has_model(int itype) const { return type_species[itype] >= 0; }

 protected:
  enum class DeviceRequest { AUTO, CPU, CUDA };
  enum class DtypeRequest { MODEL, FLOAT32, FLOAT64 };

  DeviceRequest device_request;
  DtypeRequest dtype_request;

  // everything libtorch lives behind this pointer so that LAMMPS code never sees torch headers
  struct Model;
  std::unique_ptr<Model> model;

  std::string model_file;                    // the first model: it drives the dynamics
  std::vector<std::string> model_files;      // all models of the ensemble, in pair_coeff order
  std::vector<std::string> model_species;    // species of the model, in model order
  std::vector<double> level_cutoffs;         // cutoffs of levels 1..K
  double receptive_field;                    // sum of level_cutoffs
  double cutmax;                             // largest level cutoff: the neighbour-list cutoff
  int *type_species;                         // LAMMPS type -> model species index, -1 = NULL

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
  long timing_calls;
  double timing_graph, timing_forward, timing_backward, timing_tally;
  std::vector<double> timing_nodes, timing_edges;    // summed n_nodes[k] and E_k

  // model deviation: models 1..M-1 are evaluated only on deviation steps (out_freq, or a step
  // on which a compute nbody/deviation is invoked); their forces are summed onto the owners
  // of ghost atoms by reverse communication before the deviation is taken
  int out_freq;                        // 0: no model-deviation file
  std::string out_file;
  FILE *out_fp;
  bigint last_written;
  bigint dev_step;
  std::vector<double> dev_forces;      // (nall, M, 3)
  std::vector<double> dev_energies;    // (nlocal, M)
  double **deviation;                  // (nmax, 2)
  int nmax_deviation;
  bool deviation_wanted();
  void finish_deviation(int nlocal);
  void write_deviation(int nlocal);

  void allocate();
  void load_model(int index, const std::string &file);
  void select_device();
  void run_model(int index, int eflag_atom_local, int vflag_atom_local, bool deviation_step);
  void check_distances();
  void check_outputs(int index, const double *energies, const std::vector<const double *> &grads);
};

}    // namespace LAMMPS_NS

#endif
#endif
