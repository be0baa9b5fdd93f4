// One exported nbody-lmp model in libtorch, as pair_style nbody runs it: the model file of
// docs/model-format.md (attributes, metadata.json, the forward signature), read on MPI rank 0 and
// broadcast, checked, placed on a device (docs/lammps.md, "Devices, threads and MPI") and
// evaluated on a local hierarchy (nbody_graph.h) into per-atom energies and the gradients of the
// energy with respect to the edge vectors, from which the pair style sums forces and virials
// (docs/model-format.md, "Forces and virial").
//
// No libtorch type appears here: libtorch lives behind a pointer (NBodyModel::Impl), so the
// LAMMPS side includes no torch header (both bundle {fmt}).  Errors are thrown as ModelError
// with the message for the user; the caller stops LAMMPS with it.
#ifndef NBODY_LMP_MODEL_H
#define NBODY_LMP_MODEL_H

#include "nbody_graph.h"

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace NBodyLMP {

// the model-file formats this plugin reads (docs/model-format.md, "Versions")
constexpr int64_t OLDEST_FORMAT_VERSION = 1;
constexpr int64_t NEWEST_FORMAT_VERSION = 2;

// pair_style nbody device auto|cpu|cuda and dtype model|float32|float64
enum class DeviceRequest { AUTO, CPU, CUDA };
enum class DtypeRequest { MODEL, FLOAT32, FLOAT64 };

// a problem with a model file or with running it; what() is the message for the user
class ModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// what a model file says about itself (docs/model-format.md, "Attributes" and "metadata.json")
struct ModelInfo {
  std::string file;
  int64_t format_version = 0;
  std::vector<std::string> species;    // model species, in model order
  std::vector<double> cutoffs;         // level cutoffs of levels 1..K (Angstrom)
  double receptive_field = 0.0;        // >= the sum of the cutoffs
  std::string dtype;                   // as exported: "float32" or "float64"
  std::string model_hash;              // from metadata.json; empty if absent
  std::string written_by;              // nbody-lmp version that exported it; empty if absent
  // shortest distance of each species pair in the training data, flattened [S, S] (Angstrom;
  // 0: not known); empty when the file does not record it
  std::vector<double> shortest_distance;
};

// The log lines of a loaded model; `index` is its place in the ensemble (0: the first).
std::string describe_model(const ModelInfo &info, int index);

// Models of one ensemble must see the same atoms: the same species in the same order and the
// same level cutoffs as the first model.  Returns the error message for `model` (model `index`
// of the ensemble, 0-based) if it differs from `first`, or an empty string.
std::string ensemble_mismatch(const ModelInfo &first, const ModelInfo &model, int index);

// Where the models of one MPI rank run.
struct Placement {
  bool cuda = false;       // on a GPU (else the CPU)
  int gpu = 0;             // which: the node-local MPI rank modulo visible_gpus
  int visible_gpus = 0;    // CUDA GPUs that libtorch can use on this node (0: none)
  int local_rank = 0;      // node-local MPI rank and number of ranks on the node
  int local_size = 1;
  int cpu_threads = 1;           // libtorch's intra-op threads on this rank
  std::string device() const;    // "cpu" or "cuda:<gpu>"
};

// The GPU of this rank's node-local rank (auto, cuda) or the CPU.  On the CPU libtorch gets
// `omp_threads` threads when the input asked for them (`package omp N`, > 0), else
// OMP_NUM_THREADS threads if set, else the node's cores shared among its MPI ranks.  Collective
// over `world`; throws ModelError on a rank where `device cuda` finds no usable GPU.
Placement choose_placement(DeviceRequest request, MPI_Comm world, int omp_threads = 0);

// The log line of where the models run, in float64 or float32.
std::string describe_placement(const Placement &where, DeviceRequest request, bool float64);

// Per-phase wall time of one evaluation (seconds).
struct EvaluationTimes {
  double forward = 0.0;
  double backward = 0.0;
};

class NBodyModel {
 public:
  // Reads `file` on rank 0 of `world`, broadcasts its bytes, loads them on every rank and
  // checks what the model says about itself.  Collective; every rank throws ModelError alike.
  static NBodyModel load(const std::string &file, MPI_Comm world);

  NBodyModel(NBodyModel &&) noexcept;
  NBodyModel &operator=(NBodyModel &&) noexcept;
  ~NBodyModel();

  const ModelInfo &info() const;

  // Moves the model to the placement's device, in the requested dtype (DtypeRequest::MODEL:
  // as exported).  Throws ModelError.
  void place(const Placement &where, DtypeRequest dtype);
  bool runs_in_float64() const;    // the dtype it runs in (after place())

  // One forward and one backward pass on `graph` (owned nodes first: docs/model-format.md,
  // "forward").  Afterwards energies() holds graph.n_nodes[K] per-atom energies and
  // edge_gradient(k) the [E_k, 3] gradient dE/d(graph.edge_vectors[k]), both float64 on the
  // CPU, or nullptr where the energy does not depend on that level's edges; they stay valid
  // until the next evaluate().  With `times`, the forward and backward wall times are added to
  // it.  Throws ModelError with what went wrong.
  void evaluate(const LocalHierarchy &graph, EvaluationTimes *times);
  const double *energies() const;
  const double *edge_gradient(int level) const;

 private:
  struct Impl;
  explicit NBodyModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl;
};

}    // namespace NBodyLMP

#endif
