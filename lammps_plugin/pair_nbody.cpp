/* ----------------------------------------------------------------------
   pair_style nbody: N-body network potentials (nbody-lmp) in LAMMPS through libtorch.

   Implements DESIGN.md §5 (LAMMPS side) and §7 (pruned local hierarchy) on the exported-model
   contract of docs/model-format.md (forward signature, forces and virial formulas).
   User documentation: docs/lammps.md.
------------------------------------------------------------------------- */

// LAMMPS headers first, libtorch after them (both bundle {fmt}).
#include "pair_nbody.h"

#include "nbody_checks.h"

#include "atom.h"
#include "comm.h"
#include "error.h"
#include "platform.h"
#include "force.h"
#include "memory.h"
#include "modify.h"
#include "neigh_list.h"
#include "neighbor.h"
#include "update.h"

#include "compute_nbody_deviation.h"
#include "nbody_deviation.h"

#include <ATen/Parallel.h>
#include <c10/core/DeviceGuard.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/cuda.h>
#include <torch/script.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

using namespace LAMMPS_NS;

namespace {

// format_version of docs/model-format.md that this reader understands
constexpr int64_t SUPPORTED_FORMAT_VERSION = 1;

std::string torch_message(const c10::Error &e)
{
  return e.what_without_backtrace();
}

// the value of "key": "value" or "key": number in a flat JSON object (metadata.json); empty if
// absent.  Only used for log messages, so a tiny scanner is enough.
std::string json_scalar(const std::string &json, const std::string &key)
{
  const std::string quoted = "\"" + key + "\"";
  auto pos = json.find(quoted);
  if (pos == std::string::npos) return "";
  pos = json.find(':', pos + quoted.size());
  if (pos == std::string::npos) return "";
  ++pos;
  while (pos < json.size() && std::isspace((unsigned char) json[pos])) ++pos;
  if (pos >= json.size()) return "";
  if (json[pos] == '"') {
    auto end = json.find('"', pos + 1);
    return (end == std::string::npos) ? "" : json.substr(pos + 1, end - pos - 1);
  }
  auto end = json.find_first_of(",}\n", pos);
  std::string value = json.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
  while (!value.empty() && std::isspace((unsigned char) value.back())) value.pop_back();
  return value;
}

double now()
{
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}    // namespace

// Everything that holds libtorch types.
// One entry per model of the ensemble (pair_coeff order); model 0 drives the dynamics.
struct PairNBody::Model {
  std::vector<torch::jit::script::Module> modules;
  bool loaded = false;
  std::vector<torch::ScalarType> model_dtypes;    // as exported
  std::vector<torch::ScalarType> dtypes;          // as run
  torch::Device device = torch::Device(torch::kCPU);
  bool device_selected = false;
  int local_rank = 0, local_size = 1;
  std::vector<std::string> metadata;
};

/* ---------------------------------------------------------------------- */

PairNBody::PairNBody(LAMMPS *lmp) :
    Pair(lmp), device_request(DeviceRequest::AUTO), dtype_request(DtypeRequest::MODEL),
    model(new Model), receptive_field(0.0), cutmax(0.0), type_species(nullptr), timing(false),
    timing_calls(0), timing_graph(0.0), timing_forward(0.0), timing_backward(0.0), timing_tally(0.0),
    out_freq(0), out_fp(nullptr), last_written(-1), dev_step(-1), deviation(nullptr),
    nmax_deviation(0)
{
  const char *t = std::getenv("NBODY_LMP_TIMING");
  timing = t && *t && strcmp(t, "0") != 0;
  const char *f = std::getenv("NBODY_LMP_FOLD");
  fold_images = !(f && strcmp(f, "0") == 0);
  single_enable = 0;
  restartinfo = 0;
  one_coeff = 1;
  manybody_flag = 1;
  ghostneigh = 1;                  // the local hierarchy needs the neighbours of ghost atoms
  no_virial_fdotr_compute = 1;     // the virial is summed over edges (docs/model-format.md)
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
  memory->destroy(deviation);
  if (out_fp) fclose(out_fp);
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

  int iarg = 0;
  while (iarg < narg) {
    const std::string key = arg[iarg];
    if (key == "device") {
      if (iarg + 2 > narg) utils::missing_cmd_args(FLERR, "pair_style nbody device", error);
      const std::string value = arg[iarg + 1];
      if (value == "auto")
        device_request = DeviceRequest::AUTO;
      else if (value == "cpu")
        device_request = DeviceRequest::CPU;
      else if (value == "cuda" || value == "gpu")
        device_request = DeviceRequest::CUDA;
      else
        error->all(FLERR, "Unknown pair_style nbody device '{}': use device auto, cpu or cuda",
                   value);
      iarg += 2;
    } else if (key == "dtype") {
      if (iarg + 2 > narg) utils::missing_cmd_args(FLERR, "pair_style nbody dtype", error);
      const std::string value = arg[iarg + 1];
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
      iarg += 2;
    } else if (key == "out_freq") {
      if (iarg + 2 > narg) utils::missing_cmd_args(FLERR, "pair_style nbody out_freq", error);
      out_freq = utils::inumeric(FLERR, arg[iarg + 1], false, lmp);
      if (out_freq < 0)
        error->all(FLERR,
                   "pair_style nbody out_freq {} is negative: give the number of steps between "
                   "lines of the model-deviation file (0: no file)",
                   out_freq);
      iarg += 2;
    } else if (key == "out_file") {
      if (iarg + 2 > narg) utils::missing_cmd_args(FLERR, "pair_style nbody out_file", error);
      out_file = arg[iarg + 1];
      file_given = true;
      iarg += 2;
    } else {
      error->all(FLERR,
                 "Unknown pair_style nbody keyword '{}': the syntax is "
                 "pair_style nbody [device auto|cpu|cuda] [dtype model|float32|float64] "
                 "[out_freq N] [out_file FILE]",
                 key);
    }
  }
  if (file_given && out_freq == 0)
    error->all(FLERR,
               "pair_style nbody out_file {} needs out_freq N (write the model deviation every N "
               "steps), e.g. pair_style nbody out_freq 10 out_file {}",
               out_file, out_file);
  if (out_freq > 0 && out_file.empty()) out_file = "model_devi.out";
  if (out_fp) {
    fclose(out_fp);
    out_fp = nullptr;
  }
  last_written = -1;
  // a new device or dtype takes effect at the next init_style()
  model->device_selected = false;
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
    const bool element_like =
        file == "NULL" || (file.size() <= 2 && std::isupper((unsigned char) file[0]) &&
                           (file.size() == 1 || std::islower((unsigned char) file[1])));
    if (k > 0 && element_like && !platform::file_is_readable(file))
      error->all(FLERR,
                 "Incorrect number of arguments for pair_coeff with pair_style nbody: '{}' stands "
                 "where a model file is expected; give {} elements (or NULL), one for each of "
                 "the {} atom types, after the model file(s): pair_coeff * * model.pt "
                 "[model2.pt ...] <elements>",
                 file, ntypes, ntypes);
    files.push_back(file);
  }
  model_files.clear();
  model->modules.clear();
  model->model_dtypes.clear();
  model->dtypes.clear();
  model->metadata.clear();
  model->loaded = false;
  for (int k = 0; k < nmodels; k++) load_model(k, files[k]);
  model_files = files;
  // a new set of models takes effect at the next init_style(), and its reverse communication
  // carries the forces of every model on deviation steps
  model->device_selected = false;
  dev_step = -1;
  comm_reverse = nmodels > 1 ? 3 * nmodels : 0;

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
                 element, itype, model_file, known);
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
   read the model file on rank 0, broadcast its bytes, load it on every rank
------------------------------------------------------------------------- */

void PairNBody::load_model(int index, const std::string &file)
{
  const std::string advice =
      "give the path of a model written by 'nbody-lmp export' or nbody_lmp.export()";

  std::string bytes;
  int ok = 1;
  std::string why;
  if (comm->me == 0) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      ok = 0;
      why = utils::getsyserror();
    } else {
      bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      if (in.bad()) {
        ok = 0;
        why = "read error";
      }
    }
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, world);
  if (!ok) error->all(FLERR, "Cannot open pair_style nbody model file {}: {}; {}", file, why, advice);

  long long nbytes = (long long) bytes.size();
  MPI_Bcast(&nbytes, 1, MPI_LONG_LONG, 0, world);
  if (nbytes == 0) error->all(FLERR, "pair_style nbody model file {} is empty; {}", file, advice);
  if (comm->me != 0) bytes.resize(nbytes);
  for (long long offset = 0; offset < nbytes; offset += INT_MAX / 2) {
    const int chunk = (int) std::min<long long>(INT_MAX / 2, nbytes - offset);
    MPI_Bcast(&bytes[offset], chunk, MPI_CHAR, 0, world);
  }

  // parse on every rank; the bytes are identical, so every rank succeeds or fails alike
  std::string problem;
  int64_t version = -1;
  std::vector<std::string> species;
  std::vector<double> cutoffs;
  double rfield = 0.0;
  std::string dtype;
  torch::jit::ExtraFilesMap extra{{"metadata.json", ""}};
  torch::jit::script::Module module;
  try {
    std::istringstream stream(bytes);
    module = torch::jit::load(stream, torch::Device(torch::kCPU), extra);
    for (const char *name : {"format_version", "species", "cutoffs", "receptive_field", "dtype"})
      if (!module.hasattr(name))
        throw std::runtime_error(fmt::format("the model has no attribute '{}'", name));
    version = module.attr("format_version").toInt();
    if (version == SUPPORTED_FORMAT_VERSION) {
      for (const auto &s : module.attr("species").toListRef()) species.push_back(s.toStringRef());
      for (const auto &c : module.attr("cutoffs").toListRef()) cutoffs.push_back(c.toDouble());
      rfield = module.attr("receptive_field").toDouble();
      dtype = module.attr("dtype").toStringRef();
    }
  } catch (const c10::Error &e) {
    problem = torch_message(e);
  } catch (const std::exception &e) {
    problem = e.what();
  }
  if (!problem.empty()) {
    auto eol = problem.find('\n');
    if (eol != std::string::npos) problem = problem.substr(0, eol);
    error->all(FLERR,
               "pair_style nbody model file {} is not a valid nbody-lmp model (TorchScript "
               "archive): {}; {}",
               file, problem, advice);
  }
  if (version != SUPPORTED_FORMAT_VERSION)
    error->all(FLERR,
               "pair_style nbody model file {} has format_version {}, but this pair_style nbody "
               "reads format_version {}: re-export the model with the nbody-lmp version that "
               "built this plugin (nbody-lmp export), or install the nbody-lmp that wrote it",
               file, version, SUPPORTED_FORMAT_VERSION);
  if (species.empty())
    error->all(FLERR, "pair_style nbody model file {} lists no species; {}", file, advice);
  if (cutoffs.empty())
    error->all(FLERR, "pair_style nbody model file {} lists no level cutoffs; {}", file, advice);
  double sum = 0.0;
  for (double c : cutoffs) {
    if (!(c > 0.0))
      error->all(FLERR, "pair_style nbody model file {} has a level cutoff {} <= 0; {}", file, c,
                 advice);
    sum += c;
  }
  if (!(rfield >= sum * (1.0 - 1e-12)))
    error->all(FLERR,
               "pair_style nbody model file {} has receptive_field {} smaller than the sum of "
               "its level cutoffs {}; {}",
               file, rfield, sum, advice);
  torch::ScalarType model_dtype;
  if (dtype == "float64")
    model_dtype = torch::kFloat64;
  else if (dtype == "float32")
    model_dtype = torch::kFloat32;
  else
    error->all(FLERR,
               "pair_style nbody model file {} has dtype '{}'; expected float32 or float64; {}",
               file, dtype, advice);

  module.eval();
  // TorchScript's profiling executor re-specialises the graph for tensor shapes, which change
  // every MD step (the number of edges); the plain executor is 1.2-1.5x faster here. This is a
  // process-wide libtorch setting; NBODY_LMP_JIT_OPTIMIZE=1 keeps the profiling executor.
  {
    const char *opt = std::getenv("NBODY_LMP_JIT_OPTIMIZE");
    torch::jit::setGraphExecutorOptimize(opt && strcmp(opt, "0") != 0 && *opt);
  }
  if (index > 0) {
    // an ensemble: every model must see the same atoms as the first one
    auto join = [](const std::vector<std::string> &v) {
      std::string out;
      for (const auto &x : v) out += (out.empty() ? "" : " ") + x;
      return out;
    };
    auto joind = [](const std::vector<double> &v) {
      std::string out;
      for (double x : v) out += fmt::format("{}{:.15g}", out.empty() ? "" : " ", x);
      return out;
    };
    const std::string fix =
        "all models of pair_coeff must have the same species in the same order and the same "
        "level cutoffs (an ensemble from 'nbody-lmp train --ensemble N' has)";
    if (species != model_species)
      error->all(FLERR,
                 "pair_coeff: model {} (model {} of the ensemble) has species [{}], but the first "
                 "model {} has [{}]: {}",
                 file, index + 1, join(species), model_file, join(model_species), fix);
    bool same = cutoffs.size() == level_cutoffs.size();
    for (size_t k = 0; same && k < cutoffs.size(); k++)
      same = std::fabs(cutoffs[k] - level_cutoffs[k]) <= 1e-12 * std::fabs(level_cutoffs[k]);
    if (!same)
      error->all(FLERR,
                 "pair_coeff: model {} (model {} of the ensemble) has {} level cutoffs [{}] A, but "
                 "the first model {} has {} [{}] A: {}",
                 file, index + 1, cutoffs.size(), joind(cutoffs), model_file,
                 level_cutoffs.size(), joind(level_cutoffs), fix);
  }

  model->modules.push_back(module);
  model->model_dtypes.push_back(model_dtype);
  model->dtypes.push_back(model_dtype);
  model->metadata.push_back(extra["metadata.json"]);
  model->loaded = true;
  model->device = torch::Device(torch::kCPU);
  model->device_selected = false;

  if (index == 0) {
    model_file = file;
    model_species = species;
    level_cutoffs = cutoffs;
    receptive_field = rfield;
    cutmax = *std::max_element(cutoffs.begin(), cutoffs.end());
    builder.set_cutoffs(cutoffs);
  }

  if (comm->me == 0) {
    std::string spec, cuts;
    for (const auto &s : species) spec += " " + s;
    for (double c : cutoffs) cuts += fmt::format(" {:g}", c);
    std::string info = fmt::format(
        "pair nbody: model {}{} (format {}, {})\n  species:{}\n  {} levels, cutoffs:{} A, "
        "receptive field {:g} A\n",
        index == 0 ? "" : fmt::format("{} of the ensemble, ", index + 1), file, version, dtype, spec,
        cutoffs.size(), cuts, rfield);
    const std::string hash = json_scalar(model->metadata.back(), "model_hash");
    const std::string made = json_scalar(model->metadata.back(), "nbody_lmp_version");
    if (!hash.empty() || !made.empty())
      info += fmt::format("  model_hash {}, written by nbody-lmp {}\n", hash.empty() ? "?" : hash,
                          made.empty() ? "?" : made);
    utils::logmesg(lmp, info);
  }
}

/* ----------------------------------------------------------------------
   device (GPU by node-local rank), dtype and CPU threads
------------------------------------------------------------------------- */

void PairNBody::select_device()
{
  // node-local rank: which GPU to use, and how many CPU cores to share
  MPI_Comm local;
  MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, comm->me, MPI_INFO_NULL, &local);
  MPI_Comm_rank(local, &model->local_rank);
  MPI_Comm_size(local, &model->local_size);
  MPI_Comm_free(&local);

  bool cuda = false;
  int ngpu = 0;
  try {
    cuda = torch::cuda::is_available();
    if (cuda) ngpu = (int) torch::cuda::device_count();
  } catch (const std::exception &) {
    cuda = false;
  }
  if (ngpu < 1) cuda = false;

  if (device_request == DeviceRequest::CUDA && !cuda)
    error->one(FLERR,
               "pair_style nbody device cuda: no CUDA GPU is usable on this node ({}); use "
               "device cpu or device auto",
               torch::cuda::is_available() ? "no device" : "libtorch has no CUDA or no GPU is visible");

  torch::Device device(torch::kCPU);
  if (cuda && device_request != DeviceRequest::CPU)
    device = torch::Device(torch::kCUDA, (c10::DeviceIndex) (model->local_rank % ngpu));

  const size_t nmodels = model->modules.size();
  for (size_t m = 0; m < nmodels; m++) {
    model->dtypes[m] = model->model_dtypes[m];
    if (dtype_request == DtypeRequest::FLOAT32) model->dtypes[m] = torch::kFloat32;
    if (dtype_request == DtypeRequest::FLOAT64) model->dtypes[m] = torch::kFloat64;
  }
  const torch::ScalarType dtype = model->dtypes[0];

  // CPU threads for libtorch: OMP_NUM_THREADS if set, else the cores of the node shared among
  // the node's MPI ranks
  if (device.is_cpu() && !std::getenv("OMP_NUM_THREADS")) {
    const int cores = (int) std::thread::hardware_concurrency();
    const int nthreads = std::max(1, cores / std::max(1, model->local_size));
    if (at::get_num_threads() != nthreads) at::set_num_threads(nthreads);
  }

  try {
    c10::OptionalDeviceGuard device_guard;    // this rank's GPU, not GPU 0 (see run_model)
    if (device.is_cuda()) device_guard.reset_device(device);
    for (size_t m = 0; m < nmodels; m++) model->modules[m].to(device, model->dtypes[m]);
  } catch (const c10::Error &e) {
    error->one(FLERR, "pair_style nbody: cannot move the model to {} {}: {}", device.str(),
               c10::toString(dtype), torch_message(e));
  }
  model->device = device;
  model->device_selected = true;

  if (comm->me == 0) {
    std::string where;
    if (device.is_cuda())
      where = fmt::format("CUDA ({} on MPI rank 0; GPU = node-local MPI rank modulo {} visible GPUs)",
                          device.str(), ngpu);
    else
      where = fmt::format("CPU, {} libtorch thread(s) per MPI rank", at::get_num_threads());
    if (device_request == DeviceRequest::AUTO && !device.is_cuda())
      where += cuda ? "" : " (device auto: no CUDA GPU available)";
    utils::logmesg(lmp, "pair nbody: running on {} in {}\n", where,
                   dtype == torch::kFloat64 ? "float64" : "float32");
  }
}

/* ---------------------------------------------------------------------- */

void PairNBody::init_style()
{
  if (!model->loaded)
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

  if (!model->device_selected) select_device();

  // as a sub-style of pair_style hybrid, the communication buffers are sized from the hybrid
  // style's comm_reverse: make room for the per-model forces of deviation steps
  comm_reverse = num_models() > 1 ? 3 * num_models() : 0;
  if (force->pair && force->pair != this && force->pair->comm_reverse < comm_reverse)
    force->pair->comm_reverse = comm_reverse;

  if (out_freq > 0) {
    if (num_models() < 2)
      error->all(FLERR,
                 "pair_style nbody out_freq {} writes the deviation between models, but pair_coeff "
                 "gives one model: list two or more (pair_coeff * * m1.pt m2.pt m3.pt <elements>), "
                 "or remove out_freq/out_file",
                 out_freq);
    if (comm->me == 0 && !out_fp) {
      out_fp = fopen(out_file.c_str(), "w");
      if (!out_fp)
        error->one(FLERR, "pair_style nbody cannot open out_file {}: {}", out_file,
                   utils::getsyserror());
      fmt::print(out_fp, "{}\n", NBodyLMP::deviation_file_header(num_models()));
      fflush(out_fp);
    }
  }
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
  const double t0 = timing ? now() : 0.0;

  const int nlocal = atom->nlocal;
  const int nall = nlocal + atom->nghost;
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

  if (timing) {
    timing_graph += now() - t0;
    timing_calls++;
    const int K = graph.levels;
    timing_nodes.resize(K + 1, 0.0);
    timing_edges.resize(K, 0.0);
    for (int k = 0; k <= K; k++) timing_nodes[k] += (double) graph.n_nodes[k];
    for (int k = 0; k < K; k++) timing_edges[k] += (double) graph.num_edges(k);
  }

  // deviation step: every model is evaluated (the same decision on every rank: it depends on
  // the timestep and on the computes only); otherwise only model 0, which drives the dynamics
  const bool dev = num_models() > 1 && deviation_wanted();
  if (dev) {
    const size_t M = num_models();
    dev_forces.assign((size_t) nall * M * 3, 0.0);
    dev_energies.assign((size_t) nlocal * M, 0.0);
  }

  // a rank that owns no model atom has no energy and exerts no force
  if (graph.n_nodes[graph.levels] > 0)
    for (int m = 0; m < (dev ? num_models() : 1); m++)
      run_model(m, m == 0 ? eflag_atom : 0, m == 0 ? vflag_atom : 0, dev);

  if (dev) finish_deviation(nlocal);
}

/* ----------------------------------------------------------------------
   evaluate all models on this step?  Yes every out_freq steps, and on the steps on which a
   compute nbody/deviation will be invoked (dump, thermo, fix ave/...: LAMMPS records those
   steps in computes with timeflag set, Modify::addstep_compute)
------------------------------------------------------------------------- */

bool PairNBody::deviation_wanted()
{
  const bigint step = update->ntimestep;
  if (out_freq > 0 && step % out_freq == 0) return true;
  for (Compute *c : modify->get_compute_list()) {
    auto *d = dynamic_cast<ComputeNBodyDeviation *>(c);
    if (d && d->uses_pair(this) && d->matchstep(step)) return true;
  }
  return false;
}

/* ----------------------------------------------------------------------
   after all models ran: sum each model's ghost forces onto their owners, then the per-atom
   deviations of the owned atoms, and the model-deviation file
------------------------------------------------------------------------- */

void PairNBody::finish_deviation(int nlocal)
{
  comm->reverse_comm(this);

  if (atom->nmax > nmax_deviation) {
    nmax_deviation = atom->nmax;
    memory->destroy(deviation);
    memory->create(deviation, nmax_deviation, 2, "pair:nbody:deviation");
  }
  const int M = num_models();
  for (int i = 0; i < nlocal; i++) {
    deviation[i][0] = NBodyLMP::force_deviation(&dev_forces[(size_t) i * M * 3], M);
    deviation[i][1] = NBodyLMP::energy_deviation(&dev_energies[(size_t) i * M], M);
  }
  dev_step = update->ntimestep;
  if (out_freq > 0 && dev_step % out_freq == 0 && dev_step != last_written) write_deviation(nlocal);
}

/* ----------------------------------------------------------------------
   one line of out_file: max/min/mean over the atoms of the model of the per-atom force and
   energy deviations, and the deviation of the total energy per atom
------------------------------------------------------------------------- */

void PairNBody::write_deviation(int nlocal)
{
  const int M = num_models();
  const int *type = atom->type;
  NBodyLMP::DeviationSummary summary(M);
  for (int i = 0; i < nlocal; i++)
    if (type_species[type[i]] >= 0)
      summary.add(deviation[i][0], deviation[i][1], atom_model_energies(i));
  summary.reduce(world);
  if (comm->me == 0 && out_fp) {
    fmt::print(out_fp, "{}\n", summary.line(update->ntimestep));
    fflush(out_fp);
  }
  last_written = update->ntimestep;
}

/* ----------------------------------------------------------------------
   reverse communication of the per-model forces (deviation steps only)
------------------------------------------------------------------------- */

int PairNBody::pack_reverse_comm(int n, int first, double *buf)
{
  const int width = 3 * num_models();
  int m = 0;
  for (int i = first; i < first + n; i++) {
    const double *src = &dev_forces[(size_t) i * width];
    for (int c = 0; c < width; c++) buf[m++] = src[c];
  }
  return m;
}

void PairNBody::unpack_reverse_comm(int n, int *list, double *buf)
{
  const int width = 3 * num_models();
  int m = 0;
  for (int i = 0; i < n; i++) {
    double *dst = &dev_forces[(size_t) list[i] * width];
    for (int c = 0; c < width; c++) dst[c] += buf[m++];
  }
}

/* ----------------------------------------------------------------------
   atoms on top of each other (closer than NBodyLMP::MIN_DISTANCE): the direction between them,
   and so the model, is undefined
------------------------------------------------------------------------- */

void PairNBody::check_distances()
{
  int level = 0;
  int64_t edge = 0;
  double r = 0.0;
  if (!NBodyLMP::find_short_edge(graph, NBodyLMP::MIN_DISTANCE, level, edge, r)) return;
  const int64_t E = graph.num_edges(level);
  const int i = graph.node_atom[graph.edge_index[level][edge]];
  const int j = graph.node_atom[graph.edge_index[level][E + edge]];
  error->one(FLERR,
             "pair_style nbody: atoms with tags {} and {} are {:.3g} A apart (closer than {} A): "
             "they overlap; remove one (delete_atoms overlap {} all all) or fix the coordinates",
             atom->tag ? atom->tag[i] : i, atom->tag ? atom->tag[j] : j, r, NBodyLMP::MIN_DISTANCE,
             NBodyLMP::MIN_DISTANCE);
}

/* ----------------------------------------------------------------------
   fold[j] = the owned atom of which ghost j is a periodic image on this rank, else j.
   The image's states equal its owner's (the model is translation invariant and the owner's
   neighbour list is complete), so the owner's node stands for it: on one rank no ghost is a
   node at all, on many only the ghosts owned by other ranks are.  Ghosts change only when
   LAMMPS re-neighbours.
------------------------------------------------------------------------- */

void PairNBody::update_fold(int nlocal, int nall)
{
  if (neighbor->ago != 0 && (int) fold.size() == nall) return;
  fold.resize(nall);
  for (int i = 0; i < nlocal; i++) fold[i] = i;
  const tagint *tag = atom->tag;
  if (atom->map_style != Atom::MAP_NONE) {
    for (int j = nlocal; j < nall; j++) {
      const int m = atom->map(tag[j]);
      fold[j] = (m >= 0 && m < nlocal) ? m : j;
    }
  } else {
    owned_of_tag.clear();
    owned_of_tag.reserve(2 * (std::size_t) nlocal + 1);
    for (int i = 0; i < nlocal; i++) owned_of_tag.emplace(tag[i], i);
    for (int j = nlocal; j < nall; j++) {
      auto it = owned_of_tag.find(tag[j]);
      fold[j] = (it != owned_of_tag.end()) ? it->second : j;
    }
  }
}

/* ----------------------------------------------------------------------
   end of a run: per-phase timings (NBODY_LMP_TIMING=1), summed over calls, max over ranks
------------------------------------------------------------------------- */

void PairNBody::finish()
{
  if (!timing || timing_calls == 0) return;
  double local[4] = {timing_graph, timing_forward, timing_backward, timing_tally};
  double most[4], sum[4];
  MPI_Allreduce(local, most, 4, MPI_DOUBLE, MPI_MAX, world);
  MPI_Allreduce(local, sum, 4, MPI_DOUBLE, MPI_SUM, world);
  if (comm->me == 0) {
    const char *names[4] = {"graph build", "model forward", "backward (autograd)", "forces/virial tally"};
    std::string msg = fmt::format("pair nbody timing over {} calls (seconds; max and average over {} ranks):\n",
                                  timing_calls, comm->nprocs);
    for (int k = 0; k < 4; k++)
      msg += fmt::format("  {:<22} {:10.4f} {:10.4f}   {:8.3f} ms/call\n", names[k], most[k],
                         sum[k] / comm->nprocs, 1e3 * most[k] / timing_calls);
    std::string nodes, edges;
    for (double n : timing_nodes) nodes += fmt::format(" {:.0f}", n / timing_calls);
    for (double e : timing_edges) edges += fmt::format(" {:.0f}", e / timing_calls);
    msg += fmt::format("  rank 0 average: nodes per level (0..K){}; edges per level (1..K){}\n", nodes, edges);
    utils::logmesg(lmp, msg);
  }
  timing_nodes.assign(timing_nodes.size(), 0.0);
  timing_edges.assign(timing_edges.size(), 0.0);
  timing_calls = 0;
  timing_graph = timing_forward = timing_backward = timing_tally = 0.0;
}

/* ----------------------------------------------------------------------
   one forward + backward pass; accumulate forces, energies, virials
   (formulas of docs/model-format.md, "Forces and virial")
------------------------------------------------------------------------- */

void PairNBody::run_model(int index, int eflag_atom_local, int vflag_atom_local,
                          bool deviation_step)
{
  const int K = graph.levels;
  const int64_t N = graph.num_nodes();
  const int64_t nowned = graph.n_nodes[K];
  const torch::Device device = model->device;
  const torch::ScalarType dtype = model->dtypes[index];
  const bool same_place = device.is_cpu() && dtype == torch::kFloat64;

  torch::Tensor energies;
  std::vector<torch::Tensor> grads;
  std::string problem;
  try {
    // make this rank's GPU the current device: the autograd engine and the caching allocator
    // then work on it rather than on GPU 0 (several ranks per node, several GPUs)
    c10::OptionalDeviceGuard device_guard;
    if (device.is_cuda()) device_guard.reset_device(device);
    torch::AutoGradMode enable_grad(true);
    const auto i64 = torch::TensorOptions().dtype(torch::kInt64);
    const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);

    torch::Tensor species = torch::from_blob(graph.node_species.data(), {N}, i64);
    if (!device.is_cpu()) species = species.to(device);

    c10::List<torch::Tensor> edge_index;
    c10::List<torch::Tensor> edge_vectors;
    std::vector<torch::Tensor> leaves;
    edge_index.reserve(K);
    edge_vectors.reserve(K);
    leaves.reserve(K);
    for (int k = 0; k < K; k++) {
      const int64_t E = graph.num_edges(k);
      torch::Tensor index = torch::from_blob(graph.edge_index[k].data(), {2, E}, i64);
      torch::Tensor vectors = torch::from_blob(graph.edge_vectors[k].data(), {E, 3}, f64);
      if (!device.is_cpu()) index = index.to(device);
      if (!same_place) vectors = vectors.to(device, dtype);
      vectors.requires_grad_(true);
      edge_index.push_back(index);
      edge_vectors.push_back(vectors);
      leaves.push_back(vectors);
    }
    c10::List<int64_t> n_nodes(graph.n_nodes);

    std::vector<torch::jit::IValue> inputs;
    inputs.reserve(4);
    inputs.emplace_back(species);
    inputs.emplace_back(edge_index);
    inputs.emplace_back(edge_vectors);
    inputs.emplace_back(n_nodes);

    const double t1 = timing ? now() : 0.0;
    torch::Tensor out = model->modules[index].forward(inputs).toTensor();
    // CUDA kernels run asynchronously: wait for them, or the forward time would go to the backward
    if (timing && device.is_cuda()) torch::cuda::synchronize(device.index());
    const double t2 = timing ? now() : 0.0;
    if (timing) timing_forward += t2 - t1;
    if (out.dim() != 1 || out.size(0) != nowned)
      throw std::runtime_error(fmt::format(
          "the model returned a tensor of shape {} instead of the {} per-atom energies of the "
          "owned atoms",
          c10::str(out.sizes()), nowned));
    torch::Tensor total = out.sum();
    if (total.requires_grad())
      grads = torch::autograd::grad({total}, leaves, {}, /*retain_graph=*/false,
                                    /*create_graph=*/false, /*allow_unused=*/true);
    else    // no edge at all (isolated atoms): no forces
      grads.assign(K, torch::Tensor());
    energies = out.detach().to(torch::kCPU, torch::kFloat64).contiguous();
    for (auto &g : grads)
      if (g.defined()) g = g.to(torch::kCPU, torch::kFloat64).contiguous();
    if (timing) timing_backward += now() - t2;
  } catch (const c10::Error &e) {
    problem = torch_message(e);
  } catch (const std::exception &e) {
    problem = e.what();
  }
  if (!problem.empty())
    error->one(FLERR, "pair_style nbody: evaluating model {} failed on MPI rank {}: {}",
               model_files[index], comm->me, problem);

  {
    std::vector<const double *> grad_data(K, nullptr);
    for (int k = 0; k < K; k++)
      if (grads[k].defined()) grad_data[k] = grads[k].data_ptr<double>();
    check_outputs(index, energies.data_ptr<double>(), grad_data);
  }

  const double t3 = timing ? now() : 0.0;
  const double *e = energies.data_ptr<double>();
  const int *atom_of = graph.node_atom.data();

  // deviation step: this model's per-atom energies and forces, kept apart (models 1.. touch
  // nothing else: the dynamics is model 0's)
  if (deviation_step) {
    const int M = num_models();
    for (int64_t n = 0; n < nowned; n++) dev_energies[(size_t) atom_of[n] * M + index] = e[n];
    for (int k = 0; k < K; k++) {
      const int64_t E = graph.num_edges(k);
      if (E == 0 || !grads[k].defined()) continue;
      const double *g = grads[k].data_ptr<double>();
      const int64_t *src = graph.edge_index[k].data();
      const int64_t *dst = src + E;
      for (int64_t a = 0; a < E; a++) {
        double *fi = &dev_forces[((size_t) atom_of[src[a]] * M + index) * 3];
        double *fj = &dev_forces[((size_t) atom_of[dst[a]] * M + index) * 3];
        for (int c = 0; c < 3; c++) {
          fi[c] += g[3 * a + c];
          fj[c] -= g[3 * a + c];
        }
      }
    }
    if (index > 0) {
      if (timing) timing_tally += now() - t3;
      return;
    }
  }

  // energies of the owned atoms
  if (eflag_global) {
    double sum = 0.0;
    for (int64_t n = 0; n < nowned; n++) sum += e[n];
    eng_vdwl += sum;
  }
  if (eflag_atom_local)
    for (int64_t n = 0; n < nowned; n++) eatom[atom_of[n]] += e[n];

  // forces and virials: for an edge (i, j) with vector d = r_j - r_i and g = dE/dd,
  // f_i += g, f_j -= g, and the edge's virial -d (x) g (half to i, half to j)
  double **f = atom->f;
  double vsum[6] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  const bool virial_needed = vflag_global || vflag_atom_local;
  for (int k = 0; k < K; k++) {
    const int64_t E = graph.num_edges(k);
    if (E == 0 || !grads[k].defined()) continue;
    const double *g = grads[k].data_ptr<double>();
    const double *d = graph.edge_vectors[k].data();
    const int64_t *src = graph.edge_index[k].data();
    const int64_t *dst = src + E;
    for (int64_t a = 0; a < E; a++) {
      const int i = atom_of[src[a]];
      const int j = atom_of[dst[a]];
      const double gx = g[3 * a], gy = g[3 * a + 1], gz = g[3 * a + 2];
      f[i][0] += gx;
      f[i][1] += gy;
      f[i][2] += gz;
      f[j][0] -= gx;
      f[j][1] -= gy;
      f[j][2] -= gz;
      if (virial_needed) {
        const double dx = d[3 * a], dy = d[3 * a + 1], dz = d[3 * a + 2];
        const double v[6] = {-dx * gx, -dy * gy, -dz * gz, -dx * gy, -dx * gz, -dy * gz};
        if (vflag_global)
          for (int c = 0; c < 6; c++) vsum[c] += v[c];
        if (vflag_atom_local)
          for (int c = 0; c < 6; c++) {
            vatom[i][c] += 0.5 * v[c];
            vatom[j][c] += 0.5 * v[c];
          }
      }
    }
  }
  if (vflag_global)
    for (int c = 0; c < 6; c++) virial[c] += vsum[c];
  if (timing) timing_tally += now() - t3;
}

/* ----------------------------------------------------------------------
   never hand NaN or infinite energies or forces to the integrator: stop and name the atoms
------------------------------------------------------------------------- */

void PairNBody::check_outputs(int index, const double *energies,
                              const std::vector<const double *> &grads)
{
  const int64_t nowned = graph.n_nodes[graph.levels];
  const int64_t n = NBodyLMP::first_nonfinite(energies, nowned);
  const char *advice = "the geometry is far outside what the model was trained on (a blow-up, "
                       "overlapping atoms) or the model file is broken; check the time step and "
                       "the thermostat, or overlay a short-range repulsion (hybrid/overlay nbody zbl)";
  if (n >= 0) {
    const int i = graph.node_atom[n];
    error->one(FLERR, "pair_style nbody: model {} gave a non-finite energy for atom tag {} at ({} {} {}); {}",
               model_files[index], atom->tag ? atom->tag[i] : i, atom->x[i][0], atom->x[i][1], atom->x[i][2], advice);
  }
  for (int k = 0; k < graph.levels; k++) {
    if (!grads[k]) continue;
    const int64_t E = graph.num_edges(k);
    const int64_t a = NBodyLMP::first_nonfinite(grads[k], 3 * E);
    if (a < 0) continue;
    const int i = graph.node_atom[graph.edge_index[k][a / 3]];
    const int j = graph.node_atom[graph.edge_index[k][E + a / 3]];
    error->one(FLERR,
               "pair_style nbody: model {} gave non-finite forces between atoms with tags {} and {} "
               "(level {}); {}",
               model_files[index], atom->tag ? atom->tag[i] : i, atom->tag ? atom->tag[j] : j, k + 1, advice);
  }
}

/* ---------------------------------------------------------------------- */

double PairNBody::memory_usage()
{
  double bytes = Pair::memory_usage();
  bytes += (double) atom_species.capacity() * sizeof(int);
  bytes += (double) graph.node_atom.capacity() * (sizeof(int) + sizeof(int64_t));
  for (const auto &v : graph.edge_index) bytes += (double) v.capacity() * sizeof(int64_t);
  for (const auto &v : graph.edge_vectors) bytes += (double) v.capacity() * sizeof(double);
  bytes += (double) (dev_forces.capacity() + dev_energies.capacity()) * sizeof(double);
  bytes += 2.0 * nmax_deviation * sizeof(double);
  return bytes;
}
