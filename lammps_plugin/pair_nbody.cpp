/* ----------------------------------------------------------------------
   pair_style nbody: the LAMMPS side (pair_nbody.h).  The models run in nbody_model.cpp; here
   the neighbour lists become the local hierarchy (nbody_graph.h), and the per-atom energies and
   edge gradients the models return become forces, energies and virials by the formulas of
   docs/model-format.md ("Forces and virial"), and model deviations (nbody_deviation.h); user
   documentation: docs/lammps.md.
------------------------------------------------------------------------- */

#include "pair_nbody.h"

#include "atom.h"
#include "comm.h"
#include "error.h"
#include "force.h"
#include "memory.h"
#include "modify.h"
#include "neigh_list.h"
#include "neighbor.h"
#include "platform.h"
#include "update.h"

#include "compute_nbody_deviation.h"
#include "nbody_checks.h"
#include "nbody_forces.h"
#include "nbody_timing.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

using namespace LAMMPS_NS;
using NBodyLMP::DeviceRequest;
using NBodyLMP::DtypeRequest;
using NBodyLMP::ModelError;

/* ---------------------------------------------------------------------- */

PairNBody::PairNBody(LAMMPS *lmp) :
    Pair(lmp), device_request(DeviceRequest::AUTO), dtype_request(DtypeRequest::MODEL),
    models_placed(false), receptive_field(0.0), cutmax(0.0), type_species(nullptr), timing(false),
    out_freq(0), last_written(-1), dev_step(-1), warned_below_training(false)
{
  const char *t = std::getenv("NBODY_LMP_TIMING");
  timing = t && *t && strcmp(t, "0") != 0;
  const char *f = std::getenv("NBODY_LMP_FOLD");
  fold_images = !(f && strcmp(f, "0") == 0);
  single_enable = 0;
  restartinfo = 0;
  one_coeff = 1;
  manybody_flag = 1;
  ghostneigh = 1;                 // the local hierarchy needs the neighbours of ghost atoms
  no_virial_fdotr_compute = 1;    // the virial is summed over edges (docs/model-format.md)
  centroidstressflag = CENTROID_NOTAVAIL;
}

/* ---------------------------------------------------------------------- */

PairNBody::~PairNBody()
{
  if (copymode) return;
  if (allocated) {
    memory->destroy(setflag);
    memory->destroy(cutsq);
    memory->destroy(cutghost);
  }
  delete[] type_species;
}

/* ---------------------------------------------------------------------- */

void PairNBody::allocate()
{
  allocated = 1;
  const int n = atom->ntypes;
  memory->create(setflag, n + 1, n + 1, "pair:setflag");
  for (int i = 1; i <= n; i++)
    for (int j = i; j <= n; j++) setflag[i][j] = 0;
  memory->create(cutsq, n + 1, n + 1, "pair:cutsq");
  memory->create(cutghost, n + 1, n + 1, "pair:cutghost");
  type_species = new int[n + 1];
  for (int i = 0; i <= n; i++) type_species[i] = -1;
}

/* ----------------------------------------------------------------------
   pair_style nbody [device auto|cpu|cuda] [dtype model|float32|float64]
                    [out_freq N] [out_file FILE]
------------------------------------------------------------------------- */

void PairNBody::settings(int narg, char **arg)
{
  device_request = DeviceRequest::AUTO;
  dtype_request = DtypeRequest::MODEL;
  out_freq = 0;
  out_file.clear();
  bool file_given = false;

  for (int iarg = 0; iarg < narg; iarg += 2) {
    const std::string key = arg[iarg];
    if (key != "device" && key != "dtype" && key != "out_freq" && key != "out_file")
      error->all(FLERR,
                 "Unknown pair_style nbody keyword '{}': the syntax is "
                 "pair_style nbody [device auto|cpu|cuda] [dtype model|float32|float64] "
                 "[out_freq N] [out_file FILE]",
                 key);
    if (iarg + 2 > narg) utils::missing_cmd_args(FLERR, "pair_style nbody " + key, error);
    const std::string value = arg[iarg + 1];
    if (key == "device") {
      if (value == "auto")
        device_request = DeviceRequest::AUTO;
      else if (value == "cpu")
        device_request = DeviceRequest::CPU;
      else if (value == "cuda" || value == "gpu")
        device_request = DeviceRequest::CUDA;
      else
        error->all(FLERR, "Unknown pair_style nbody device '{}': use device auto, cpu or cuda",
                   value);
    } else if (key == "dtype") {
      if (value == "model")
        dtype_request = DtypeRequest::MODEL;
      else if (value == "float32")
        dtype_request = DtypeRequest::FLOAT32;
      else if (value == "float64")
        dtype_request = DtypeRequest::FLOAT64;
      else
        error->all(FLERR,
                   "Unknown pair_style nbody dtype '{}': use dtype model (the dtype the model was "
                   "exported in), float32 or float64",
                   value);
    } else if (key == "out_freq") {
      out_freq = utils::inumeric(FLERR, value, false, lmp);
      if (out_freq < 0)
        error->all(FLERR,
                   "pair_style nbody out_freq {} is negative: give the number of steps between "
                   "lines of the model-deviation file (0: no file)",
                   out_freq);
    } else {    // out_file
      out_file = value;
      file_given = true;
    }
  }
  if (file_given && out_freq == 0)
    error->all(FLERR,
               "pair_style nbody out_file {} needs out_freq N (write the model deviation every N "
               "steps), e.g. pair_style nbody out_freq 10 out_file {}",
               out_file, out_file);
  if (out_freq > 0 && out_file.empty()) out_file = "model_devi.out";
  out.close();
  last_written = -1;
  // a new device or dtype takes effect at the next init_style()
  models_placed = false;
}

/* ----------------------------------------------------------------------
   pair_coeff * * model.pt [model2.pt ...] Si O NULL ...
   (one or more model files, then one model species or NULL per atom type: the last ntypes
   arguments are the elements, everything between '* *' and them is a model file)
------------------------------------------------------------------------- */

void PairNBody::coeff(int narg, char **arg)
{
  if (!allocated) allocate();
  const int ntypes = atom->ntypes;

  if (narg < 3 + ntypes)
    error->all(FLERR,
               "Incorrect number of arguments for pair_coeff with pair_style nbody: got {}, "
               "expected {} or more: pair_coeff * * model.pt [more model files for an ensemble] "
               "followed by one element (or NULL) for each of the {} atom types",
               narg, 3 + ntypes, ntypes);
  if (strcmp(arg[0], "*") != 0 || strcmp(arg[1], "*") != 0)
    error->all(FLERR,
               "pair_coeff for pair_style nbody must start with '* *' (one line maps all atom "
               "types): pair_coeff * * model.pt <element or NULL for each atom type>");

  const int nmodels = narg - 2 - ntypes;
  std::vector<std::string> files;
  for (int k = 0; k < nmodels; k++) {
    const std::string file = arg[2 + k];
    // an element or NULL where a model file is expected: too many elements for the atom types
    if (k > 0 && NBodyLMP::looks_like_element(file) && !platform::file_is_readable(file))
      error->all(FLERR,
                 "Incorrect number of arguments for pair_coeff with pair_style nbody: '{}' stands "
                 "where a model file is expected; give {} elements (or NULL), one for each of "
                 "the {} atom types, after the model file(s): pair_coeff * * model.pt "
                 "[model2.pt ...] <elements>",
                 file, ntypes, ntypes);
    files.push_back(file);
  }
  load_models(files);

  const std::vector<std::string> &model_species = models[0].info().species;
  std::string known;
  for (const auto &s : model_species) known += (known.empty() ? "" : " ") + s;

  for (int itype = 1; itype <= ntypes; itype++) {
    const std::string element = arg[1 + nmodels + itype];
    if (element == "NULL") {
      type_species[itype] = -1;
      continue;
    }
    auto found = std::find(model_species.begin(), model_species.end(), element);
    if (found == model_species.end())
      error->all(FLERR,
                 "pair_coeff: element '{}' given for atom type {} is not in model {}, which "
                 "knows: {}. Map each atom type to one of these, or to NULL to leave it to "
                 "another pair style (pair_style hybrid/overlay)",
                 element, itype, models[0].info().file, known);
    type_species[itype] = (int) (found - model_species.begin());
  }

  int count = 0;
  for (int i = 1; i <= ntypes; i++)
    for (int j = i; j <= ntypes; j++) {
      if (type_species[i] >= 0 && type_species[j] >= 0) {
        setflag[i][j] = 1;
        count++;
      } else
        setflag[i][j] = 0;
    }
  if (count == 0)
    error->all(FLERR,
               "pair_coeff for pair_style nbody maps every atom type to NULL: give the element "
               "of at least one atom type");
}

/* ----------------------------------------------------------------------
   the models of pair_coeff: each read on rank 0 and broadcast, checked, and checked against
   the first one (an ensemble must see the same atoms)
------------------------------------------------------------------------- */

void PairNBody::load_models(const std::vector<std::string> &files)
{
  models.clear();
  warned_below_training = false;
  for (int k = 0; k < (int) files.size(); k++) {
    try {
      models.push_back(NBodyLMP::NBodyModel::load(files[k], world));
    } catch (const ModelError &e) {
      error->all(FLERR, e.what());
    }
    const NBodyLMP::ModelInfo &info = models.back().info();
    if (k > 0) {
      const std::string mismatch = NBodyLMP::ensemble_mismatch(models[0].info(), info, k);
      if (!mismatch.empty()) error->all(FLERR, mismatch);
    }
    if (comm->me == 0) utils::logmesg(lmp, NBodyLMP::describe_model(info, k));
  }
  const NBodyLMP::ModelInfo &first = models[0].info();
  receptive_field = first.receptive_field;
  cutmax = *std::max_element(first.cutoffs.begin(), first.cutoffs.end());
  builder.set_cutoffs(first.cutoffs);

  // a new set of models takes effect at the next init_style(), and its reverse communication
  // carries the forces of every model on deviation steps
  models_placed = false;
  dev_step = -1;
  comm_reverse = num_models() > 1 ? 3 * num_models() : 0;
}

/* ----------------------------------------------------------------------
   device (GPU by node-local rank), dtype and CPU threads (`package omp N`: fix package_omp)
------------------------------------------------------------------------- */

void PairNBody::place_models()
{
  NBodyLMP::Placement where;
  try {
    const int omp = modify->get_fix_by_id("package_omp") ? comm->nthreads : 0;
    where = NBodyLMP::choose_placement(device_request, world, omp);
    for (auto &m : models) m.place(where, dtype_request);
  } catch (const ModelError &e) {
    error->one(FLERR, e.what());
  }
  models_placed = true;
  if (comm->me == 0)
    utils::logmesg(
        lmp, NBodyLMP::describe_placement(where, device_request, models[0].runs_in_float64()));
}

/* ---------------------------------------------------------------------- */

void PairNBody::init_style()
{
  if (models.empty())
    error->all(FLERR, "pair_style nbody needs a model: pair_coeff * * model.pt <elements>");
  if (strcmp(update->unit_style, "metal") != 0)
    error->all(FLERR,
               "pair_style nbody requires 'units metal' (eV, Angstrom, eV/Angstrom), the units "
               "of the model; this input uses 'units {}'",
               update->unit_style);
  if (force->newton_pair == 0)
    error->all(FLERR,
               "pair_style nbody requires newton_pair on (forces on ghost atoms are sent back "
               "to their owners): use 'newton on' (the LAMMPS default)");
  if (comm->mode != Comm::SINGLE)
    error->all(FLERR,
               "pair_style nbody requires 'comm_modify mode single': it needs ghost atoms out "
               "to one receptive field for every atom type");

  neighbor->add_request(this, NeighConst::REQ_FULL | NeighConst::REQ_GHOST);

  // every atom within the receptive field of an owned atom must be a ghost, also after the
  // atoms have moved by up to half the skin: communicate ghosts out to receptive field + skin
  const double need = receptive_field + neighbor->skin;
  if (comm->cutghostuser < need) {
    if (comm->me == 0)
      utils::logmesg(lmp,
                     "pair nbody: ghost atoms out to receptive field {:g} + neighbor skin {:g}: "
                     "setting the communication cutoff to {:g} (comm_modify cutoff {:g})\n",
                     receptive_field, neighbor->skin, need, need);
    comm->cutghostuser = need;
  }

  if (!models_placed) place_models();

  // as a sub-style of pair_style hybrid, the communication buffers are sized from the hybrid
  // style's comm_reverse: make room for the per-model forces of deviation steps
  comm_reverse = num_models() > 1 ? 3 * num_models() : 0;
  if (force->pair && force->pair != this && force->pair->comm_reverse < comm_reverse)
    force->pair->comm_reverse = comm_reverse;

  // the model-deviation file of out_freq/out_file, with its header line (rank 0)
  if (out_freq > 0 && num_models() < 2)
    error->all(FLERR,
               "pair_style nbody out_freq {} writes the deviation between models, but pair_coeff "
               "gives one model: list two or more (pair_coeff * * m1.pt m2.pt m3.pt <elements>), "
               "or remove out_freq/out_file",
               out_freq);
  if (out_freq > 0 && comm->me == 0 && !out.is_open() && !out.open(out_file, num_models()))
    error->one(FLERR, "pair_style nbody cannot open out_file {}: {}", out_file,
               utils::getsyserror());
}

/* ---------------------------------------------------------------------- */

double PairNBody::init_one(int i, int j)
{
  if (setflag[i][j] == 0) error->all(FLERR, "All pair coeffs are not set");
  cutghost[i][j] = cutghost[j][i] = cutmax;
  return cutmax;
}

/* ---------------------------------------------------------------------- */

void PairNBody::compute(int eflag, int vflag)
{
  ev_init(eflag, vflag);
  const int nlocal = atom->nlocal;
  const int nall = nlocal + atom->nghost;
  build_graph(nlocal, nall);

  // deviation step: every model is evaluated, every out_freq steps and on the steps on which a
  // compute nbody/deviation is invoked (the same decision on every rank: it depends on the
  // timestep and on the computes only); otherwise only model 0, which drives the dynamics
  const bigint step = update->ntimestep;
  const bool dev = num_models() > 1 && ((out_freq > 0 && step % out_freq == 0) ||
                                        ComputeNBodyDeviation::invoked_on(modify, this, step));
  if (dev) ensemble.start(num_models(), nall, nlocal);

  // a rank that owns no model atom has no energy and exerts no force
  if (graph.n_nodes[graph.levels] > 0)
    for (int m = 0; m < (dev ? num_models() : 1); m++)
      run_model(m, m == 0 ? eflag_atom : 0, m == 0 ? vflag_atom : 0, dev);

  if (dev) finish_deviation(nlocal);
}

/* ----------------------------------------------------------------------
   the local hierarchy of this subdomain from the full neighbour list with ghosts, checked for
   positions that are not finite and for atoms on top of each other
------------------------------------------------------------------------- */

void PairNBody::build_graph(int nlocal, int nall)
{
  const double t0 = timing ? NBodyLMP::wall_time() : 0.0;
  const int *type = atom->type;
  atom_species.resize(nall > 0 ? nall : 1);
  for (int i = 0; i < nall; i++) atom_species[i] = type_species[type[i]];

  NBodyLMP::NeighborView view;
  view.inum = list->inum;
  view.gnum = list->gnum;
  view.ilist = list->ilist;
  view.numneigh = list->numneigh;
  view.firstneigh = list->firstneigh;
  view.neighmask = NEIGHMASK;

  const int *fold_of = nullptr;
  if (fold_images && atom->tag_enable) {
    update_fold(nlocal, nall);
    fold_of = fold.data();
  }

  // positions that are not finite would give NaN edges (a NaN distance passes no cutoff test)
  const int bad = NBodyLMP::first_nonfinite_position(nlocal, atom->x);
  if (bad >= 0)
    error->one(FLERR,
               "pair_style nbody: atom tag {} has a position that is not finite ({} {} {}); "
               "the run has blown up or the input coordinates are broken: check the data file, "
               "the time step and the other pair styles",
               atom->tag ? atom->tag[bad] : 0, atom->x[bad][0], atom->x[bad][1], atom->x[bad][2]);

  int missing = -1;
  if (!builder.build(nall, atom->x, atom_species.data(), view, graph, missing, fold_of))
    error->one(FLERR,
               "pair_style nbody: atom {} (tag {}) is needed by the local hierarchy but has no "
               "neighbor list; the neighbor list must be full and include ghost atoms",
               missing, atom->tag ? atom->tag[missing] : 0);

  check_distances();

  if (timing) times.add_graph(graph, NBodyLMP::wall_time() - t0);
}

/* ----------------------------------------------------------------------
   after all models ran: sum each model's ghost forces onto their owners, then the per-atom
   deviations of the owned atoms, and on out_freq steps one line of out_file: max/min/mean
   over the atoms of the model of the per-atom force and energy deviations, and the deviation
   of the total energy per atom
------------------------------------------------------------------------- */

void PairNBody::finish_deviation(int nlocal)
{
  comm->reverse_comm(this);
  ensemble.finish();
  dev_step = update->ntimestep;
  if (out_freq == 0 || dev_step % out_freq != 0 || dev_step == last_written) return;

  const int *type = atom->type;
  NBodyLMP::DeviationSummary summary(num_models());
  for (int i = 0; i < nlocal; i++)
    if (type_species[type[i]] >= 0)
      summary.add(atom_deviation(i)[0], atom_deviation(i)[1], atom_model_energies(i));
  summary.reduce(world);
  if (comm->me == 0) out.write(summary.line(update->ntimestep));
  last_written = update->ntimestep;
}

/* ----------------------------------------------------------------------
   reverse communication of the per-model forces (deviation steps only)
------------------------------------------------------------------------- */

int PairNBody::pack_reverse_comm(int n, int first, double *buf)
{
  return ensemble.pack(n, first, buf);
}

void PairNBody::unpack_reverse_comm(int n, int *list, double *buf)
{
  ensemble.unpack(n, list, buf);
}

// once per model: atoms closer than any such pair in training (docs/theory.md, "Short-range prior")
void PairNBody::warn_below_training()
{
  const std::string message = NBodyLMP::below_training_message(
      graph, models[0].info().species, models[0].info().shortest_distance, atom->tag,
      update->ntimestep, models[0].info().file);
  if (message.empty()) return;
  warned_below_training = true;
  error->warning(FLERR, message);
  if (!screen) fmt::print(stderr, "WARNING on rank {}: {}\n", comm->me, message);
}

// atoms closer than NBodyLMP::MIN_DISTANCE: their direction, and so the model, is undefined
void PairNBody::check_distances()
{
  int level = 0;
  int64_t edge = 0;
  double r = 0.0;
  if (!NBodyLMP::find_short_edge(graph, NBodyLMP::MIN_DISTANCE, level, edge, r)) {
    if (!warned_below_training) warn_below_training();
    return;
  }
  const int i = graph.parent_atom(level, edge), j = graph.child_atom(level, edge);
  error->one(FLERR,
             "pair_style nbody: atoms with tags {} and {} are {:.3g} A apart (closer than {} A): "
             "they overlap; remove one (delete_atoms overlap {} all all) or fix the coordinates",
             atom->tag ? atom->tag[i] : i, atom->tag ? atom->tag[j] : j, r, NBodyLMP::MIN_DISTANCE,
             NBodyLMP::MIN_DISTANCE);
}

/* ----------------------------------------------------------------------
   fold[j] = the owned atom of which ghost j is a periodic image on this rank, else j
   (nbody_graph.h, fold_images); ghosts change only when LAMMPS re-neighbours
------------------------------------------------------------------------- */

void PairNBody::update_fold(int nlocal, int nall)
{
  if (neighbor->ago != 0 && (int) fold.size() == nall) return;
  if (atom->map_style == Atom::MAP_NONE) {
    NBodyLMP::fold_images(nlocal, nall, atom->tag, owned_of_tag, fold);
    return;
  }
  fold.resize(nall);
  for (int j = 0; j < nall; j++) {
    const int m = j < nlocal ? j : atom->map(atom->tag[j]);
    fold[j] = (m >= 0 && m < nlocal) ? m : j;
  }
}

/* ----------------------------------------------------------------------
   end of a run: per-phase timings (NBODY_LMP_TIMING=1), summed over calls, max over ranks
------------------------------------------------------------------------- */

void PairNBody::finish()
{
  if (!timing || times.calls() == 0) return;
  const std::string report = times.report(world);
  if (comm->me == 0) utils::logmesg(lmp, report);
}

/* ----------------------------------------------------------------------
   one forward + backward pass of model `index`; accumulate its energies, forces and virials
------------------------------------------------------------------------- */

void PairNBody::run_model(int index, int eflag_atom_local, int vflag_atom_local,
                          bool deviation_step)
{
  NBodyLMP::NBodyModel &model = models[index];
  try {
    model.evaluate(graph, timing ? &times.model() : nullptr);
  } catch (const ModelError &e) {
    error->one(FLERR, "pair_style nbody: evaluating model {} failed on MPI rank {}: {}",
               model.info().file, comm->me, e.what());
  }
  const int K = graph.levels;
  const double *e = model.energies();
  std::vector<const double *> grads(K);
  for (int k = 0; k < K; k++) grads[k] = model.edge_gradient(k);
  check_outputs(index, e, grads);

  const double t3 = timing ? NBodyLMP::wall_time() : 0.0;
  const int64_t nowned = graph.n_nodes[K];
  const int *atom_of = graph.node_atom.data();

  // deviation step: this model's energies and forces kept apart (the dynamics is model 0's)
  if (deviation_step) {
    for (int64_t n = 0; n < nowned; n++) ensemble.energies(atom_of[n])[index] = e[n];
    NBodyLMP::tally_model_forces(graph, grads.data(), num_models(), index, ensemble.forces());
  }

  if (index == 0) {
    // energies of the owned atoms, forces and virials
    if (eflag_global) {
      double sum = 0.0;
      for (int64_t n = 0; n < nowned; n++) sum += e[n];
      eng_vdwl += sum;
    }
    if (eflag_atom_local)
      for (int64_t n = 0; n < nowned; n++) eatom[atom_of[n]] += e[n];
    NBodyLMP::tally_forces(graph, grads.data(), atom->f, vflag_global ? virial : nullptr,
                           vflag_atom_local ? vatom : nullptr);
  }
  if (timing) times.add_tally(NBodyLMP::wall_time() - t3);
}

/* ----------------------------------------------------------------------
   never hand NaN or infinite energies or forces to the integrator: stop and name the atoms
------------------------------------------------------------------------- */

void PairNBody::check_outputs(int index, const double *energies,
                              const std::vector<const double *> &grads)
{
  const std::string &file = models[index].info().file;
  const int64_t nowned = graph.n_nodes[graph.levels];
  const int64_t n = NBodyLMP::first_nonfinite(energies, nowned);
  const char *advice =
      "the geometry is far outside what the model was trained on (a blow-up, "
      "overlapping atoms) or the model file is broken; check the time step and "
      "the thermostat, or overlay a short-range repulsion (hybrid/overlay nbody zbl)";
  if (n >= 0) {
    const int i = graph.node_atom[n];
    error->one(
        FLERR,
        "pair_style nbody: model {} gave a non-finite energy for atom tag {} at ({} {} {}); {}",
        file, atom->tag ? atom->tag[i] : i, atom->x[i][0], atom->x[i][1], atom->x[i][2], advice);
  }
  int k = 0;
  int64_t edge = 0;
  if (NBodyLMP::find_nonfinite_gradient(graph, grads.data(), k, edge)) {
    const int i = graph.parent_atom(k, edge), j = graph.child_atom(k, edge);
    error->one(
        FLERR,
        "pair_style nbody: model {} gave non-finite forces between atoms with tags {} and {} "
        "(level {}); {}",
        file, atom->tag ? atom->tag[i] : i, atom->tag ? atom->tag[j] : j, k + 1, advice);
  }
}

/* ---------------------------------------------------------------------- */

double PairNBody::memory_usage()
{
  double bytes = Pair::memory_usage();
  bytes += (double) atom_species.capacity() * sizeof(int);
  bytes += graph.memory_usage();
  bytes += ensemble.memory_usage();
  return bytes;
}
