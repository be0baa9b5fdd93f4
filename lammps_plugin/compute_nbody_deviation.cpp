/* ----------------------------------------------------------------------
   compute ID group nbody/deviation  (docs/lammps.md, "Several models: model deviation")

   per-atom array, 2 columns: [1] force deviation sqrt(<|F - <F>|^2>) (eV/A), [2] energy
   deviation of the atom's energy (eV), over the models of pair_style nbody (0 for atoms outside
   the group or of a NULL type);
   global vector, 7 values over the group's atoms of a model type: max, min, mean of [1], max,
   min, mean of [2], and the deviation of the group's total energy per atom (eV/atom).
   The numbers come from the pair style's last force evaluation, which runs every model on the
   steps on which this compute is invoked (see PairNBody::compute).
------------------------------------------------------------------------- */

#include "compute_nbody_deviation.h"

#include "atom.h"
#include "error.h"
#include "force.h"
#include "memory.h"
#include "modify.h"
#include "pair.h"
#include "update.h"

#include "nbody_deviation.h"
#include "pair_nbody.h"

using namespace LAMMPS_NS;

ComputeNBodyDeviation::ComputeNBodyDeviation(LAMMPS *lmp, int narg, char **arg) :
    Compute(lmp, narg, arg), pair(nullptr), nmax(0)
{
  if (narg != 3)
    error->all(FLERR,
               "compute nbody/deviation takes no arguments: compute ID group-ID nbody/deviation");
  peratom_flag = 1;
  size_peratom_cols = 2;
  vector_flag = 1;
  size_vector = 7;
  extvector = 0;
  timeflag = 1;    // LAMMPS records the steps it will be invoked on: pair nbody reads them
  array_atom = nullptr;
  vector = new double[size_vector];
  for (int k = 0; k < size_vector; k++) vector[k] = 0.0;
}

ComputeNBodyDeviation::~ComputeNBodyDeviation()
{
  memory->destroy(array_atom);
  delete[] vector;
}

void ComputeNBodyDeviation::init()
{
  Pair *p = force->pair_match("nbody", 1);    // also the one nbody sub-style of hybrid
  pair = dynamic_cast<PairNBody *>(p);
  if (!pair)
    error->all(FLERR,
               "compute {} nbody/deviation needs pair_style nbody (alone or as the one nbody "
               "sub-style of hybrid/overlay)",
               id);
  if (pair->num_models() < 2)
    error->all(FLERR,
               "compute {} nbody/deviation needs two or more models, but pair_coeff gives one: "
               "pair_coeff * * m1.pt m2.pt m3.pt <elements> (train them with nbody-lmp train "
               "--ensemble 3)",
               id);
}

void ComputeNBodyDeviation::check_step(const char *what)
{
  if (pair->deviation_step() != update->ntimestep)
    error->all(
        FLERR,
        "compute {} nbody/deviation ({}) was used on step {}, but pair_style nbody evaluated "
        "all its models last on step {}: the models are all evaluated only on the steps on "
        "which a dump, thermo output or fix uses this compute, and every out_freq steps; "
        "use the compute there (or issue 'run 0' first)",
        id, what, update->ntimestep, pair->deviation_step());
}

void ComputeNBodyDeviation::compute_peratom()
{
  invoked_peratom = update->ntimestep;
  check_step("per-atom array");
  if (atom->nmax > nmax) {
    memory->destroy(array_atom);
    nmax = atom->nmax;
    memory->create(array_atom, nmax, 2, "nbody/deviation:array_atom");
  }
  const int nlocal = atom->nlocal;
  const int *mask = atom->mask;
  const int *type = atom->type;
  for (int i = 0; i < nlocal; i++) {
    const bool in = (mask[i] & groupbit) && pair->type_has_model(type[i]);
    array_atom[i][0] = in ? pair->atom_deviation(i)[0] : 0.0;
    array_atom[i][1] = in ? pair->atom_deviation(i)[1] : 0.0;
  }
}

void ComputeNBodyDeviation::compute_vector()
{
  invoked_vector = update->ntimestep;
  check_step("global vector");
  const int nlocal = atom->nlocal;
  const int *mask = atom->mask;
  const int *type = atom->type;
  NBodyLMP::DeviationSummary summary(pair->num_models());
  for (int i = 0; i < nlocal; i++)
    if ((mask[i] & groupbit) && pair->type_has_model(type[i]))
      summary.add(pair->atom_deviation(i)[0], pair->atom_deviation(i)[1],
                  pair->atom_model_energies(i));
  summary.reduce(world);
  const std::vector<double> v = summary.values();
  for (int k = 0; k < 7; k++) vector[k] = v[k];
}

bool ComputeNBodyDeviation::invoked_on(Modify *modify, const PairNBody *p, bigint step)
{
  for (Compute *c : modify->get_compute_list()) {
    auto *d = dynamic_cast<ComputeNBodyDeviation *>(c);
    if (d && d->uses_pair(p) && d->matchstep(step)) return true;
  }
  return false;
}

double ComputeNBodyDeviation::memory_usage()
{
  return 2.0 * nmax * sizeof(double);
}
