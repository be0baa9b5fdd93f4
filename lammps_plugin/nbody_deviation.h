/* ----------------------------------------------------------------------
   Model deviation of an ensemble (issue 13; docs/lammps.md, "Several models: model deviation").

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

#include <string>
#include <vector>

namespace NBodyLMP {

// f: M x 3 forces of one atom, model-major
double force_deviation(const double *f, int M);
// e: M energies of one atom
double energy_deviation(const double *e, int M);

// the header line of the model-deviation file (pair_style nbody out_file)
std::string deviation_file_header(int M);

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

}    // namespace NBodyLMP

#endif
