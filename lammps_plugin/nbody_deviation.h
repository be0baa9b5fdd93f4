/* ----------------------------------------------------------------------
   Model deviation of an ensemble (docs/lammps.md, "Several models: model deviation").

   For one atom and M models with forces F_m and per-atom energies e_m:
     force deviation  sqrt( <|F_m - <F>|^2> )   (DeePMD-kit's definition; <.> = mean over models)
     energy deviation sqrt( <(e_m - <e>)^2> )
   and for a set of atoms the deviation of their total energy per atom,
     sqrt( <(E_m - <E>)^2> ) / natoms,  E_m = sum of e_m over the atoms.
   Population (1/M) standard deviations, as DeePMD-kit.  No LAMMPS types here except MPI.
------------------------------------------------------------------------- */

#ifndef NBODY_LMP_DEVIATION_H
#define NBODY_LMP_DEVIATION_H

#include <mpi.h>

#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

namespace NBodyLMP {

// f: M x 3 forces of one atom, model-major
double force_deviation(const double *f, int M);
// e: M energies of one atom
double energy_deviation(const double *e, int M);

// the header line of the model-deviation file (pair_style nbody out_file)
std::string deviation_file_header(int M);

// The forces and energies of every model on one step on which all models run, per atom, and
// the per-atom deviations taken from them
class EnsembleStep {
 public:
  // zero the sums for M models, nall atoms (owned + ghost) of which nlocal are owned
  void start(int M, int nall, int nlocal);
  int models() const { return M; }
  // forces[(atom * M + model) * 3 + c] (nbody_forces.h, tally_model_forces); those of ghost
  // atoms are summed onto their owners by reverse communication (pack / unpack)
  double *forces() { return forces_.data(); }
  // the M model energies of owned atom i
  double *energies(int i) { return &energies_[(std::size_t) i * M]; }
  const double *energies(int i) const { return &energies_[(std::size_t) i * M]; }
  // reverse communication, 3 M values per atom: pack atoms first .. first + n - 1, add to list[]
  int pack(int n, int first, double *buf) const;
  void unpack(int n, const int *list, const double *buf);
  // once the forces of the owned atoms are complete: their deviations
  void finish();
  // [force deviation, energy deviation] of owned atom i
  const double *deviation(int i) const { return &deviation_[(std::size_t) i * 2]; }
  double memory_usage() const;

 private:
  int M = 0, nlocal = 0;
  std::vector<double> forces_, energies_, deviation_;
};

// max/min/mean over atoms of the per-atom force and energy deviations, and the deviation of
// the total energy per atom; add() the local atoms, then reduce() over the communicator
class DeviationSummary {
 public:
  explicit DeviationSummary(int M);
  void add(double force_dev, double energy_dev, const double *model_energies);
  void reduce(MPI_Comm comm);
  long long count() const { return n; }
  // max_f, min_f, mean_f, max_e, min_e, mean_e, total-energy deviation per atom (0 if no atom)
  std::vector<double> values() const;
  // "step max_devi_f min_devi_f avg_devi_f max_devi_e min_devi_e avg_devi_e devi_e"
  std::string line(long long step) const;

 private:
  int M;
  long long n;
  double fmax, fmin, fsum, emax, emin, esum;
  std::vector<double> totals;    // per model: sum of the atoms' energies
};

// The model-deviation file of pair_style nbody out_file: the header line, then one line per
// out_freq steps (DeviationSummary::line); one rank writes it
class DeviationFile {
 public:
  DeviationFile() = default;
  DeviationFile(const DeviationFile &) = delete;
  DeviationFile &operator=(const DeviationFile &) = delete;
  ~DeviationFile() { close(); }
  bool is_open() const { return fp != nullptr; }
  // creates `path` and writes the header line; false if it cannot be created (errno says why)
  bool open(const std::string &path, int M);
  void write(const std::string &line);    // one line, flushed; nothing if not open
  void close();

 private:
  FILE *fp = nullptr;
};

}    // namespace NBodyLMP

#endif
