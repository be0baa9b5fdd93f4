// One exported model in libtorch: see nbody_model.h.  The file format and the forward signature
// are docs/model-format.md; devices and threads docs/lammps.md ("Devices, threads and MPI").

// {fmt} before libtorch: LAMMPS's copy, first on the include path (lammps_plugin/CMakeLists.txt),
// so that every message of the plugin is formatted by the same {fmt}
#include "fmt/format.h"

#include "nbody_model.h"
#include "nbody_allocator.h"
#include "nbody_timing.h"

#include <ATen/Parallel.h>
#include <c10/core/DeviceGuard.h>
#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/cuda.h>
#include <torch/script.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

namespace NBodyLMP {

namespace {

const char *const ADVICE =
    "give the path of a model written by 'nbody-lmp export' or nbody_lmp.export()";

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

// the bytes of `file`, read on rank 0 of `world` and broadcast to every rank
std::string read_everywhere(const std::string &file, MPI_Comm world)
{
  int me = 0;
  MPI_Comm_rank(world, &me);
  std::string bytes;
  int ok = 1;
  std::string why;
  if (me == 0) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      ok = 0;
      why = std::strerror(errno);
    } else {
      bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      if (in.bad()) {
        ok = 0;
        why = "read error";
      }
    }
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, world);
  if (!ok)
    throw ModelError(
        fmt::format("Cannot open pair_style nbody model file {}: {}; {}", file, why, ADVICE));

  long long nbytes = (long long) bytes.size();
  MPI_Bcast(&nbytes, 1, MPI_LONG_LONG, 0, world);
  if (nbytes == 0)
    throw ModelError(fmt::format("pair_style nbody model file {} is empty; {}", file, ADVICE));
  if (me != 0) bytes.resize(nbytes);
  for (long long offset = 0; offset < nbytes; offset += INT_MAX / 2) {
    const int chunk = (int) std::min<long long>(INT_MAX / 2, nbytes - offset);
    MPI_Bcast(&bytes[offset], chunk, MPI_CHAR, 0, world);
  }
  return bytes;
}

// TorchScript's profiling executor re-specialises the graph for tensor shapes, which change
// every MD step (the number of edges), so the plain executor runs MD faster.  This is a
// process-wide libtorch setting; NBODY_LMP_JIT_OPTIMIZE=1 keeps the profiling executor.
void choose_graph_executor()
{
  const char *opt = std::getenv("NBODY_LMP_JIT_OPTIMIZE");
  torch::jit::setGraphExecutorOptimize(opt && strcmp(opt, "0") != 0 && *opt);
}

std::string version_message(const std::string &file, int64_t version)
{
  const std::string advice =
      version > NEWEST_FORMAT_VERSION
          ? "it was written by a newer nbody-lmp: install that nbody-lmp (pip install -U "
            "nbody-lmp) and load its plugin (nbody-lmp plugin-path), or re-export the model "
            "with the nbody-lmp that built this plugin"
          : "re-export the model with the nbody-lmp version that built this plugin "
            "(nbody-lmp export)";
  return fmt::format("pair_style nbody model file {} has format_version {}, but this "
                     "pair_style nbody reads format_version {} to {}: {}",
                     file, version, OLDEST_FORMAT_VERSION, NEWEST_FORMAT_VERSION, advice);
}

// the format_version of the archive's metadata.json, read without deserialising the model's
// code, whose operators a plugin older than the file may not have; -1 when there is none
int64_t declared_format_version(const std::string &bytes)
{
  try {
    std::istringstream stream(bytes);
    caffe2::serialize::PyTorchStreamReader reader(&stream);
    if (!reader.hasRecord("extra/metadata.json")) return -1;
    auto record = reader.getRecord("extra/metadata.json");
    const std::string json(static_cast<const char *>(std::get<0>(record).get()),
                           std::get<1>(record));
    const std::string value = json_scalar(json, "format_version");
    return value.empty() ? -1 : std::stoll(value);
  } catch (const std::exception &) {
    return -1;    // not a TorchScript archive: torch::jit::load says so below
  }
}

// the checks of docs/model-format.md ("Attributes") that loading alone does not make
void check_info(const ModelInfo &info)
{
  const std::string &file = info.file;
  if (info.format_version < OLDEST_FORMAT_VERSION || info.format_version > NEWEST_FORMAT_VERSION)
    throw ModelError(version_message(file, info.format_version));
  if (info.species.empty())
    throw ModelError(
        fmt::format("pair_style nbody model file {} lists no species; {}", file, ADVICE));
  if (info.cutoffs.empty())
    throw ModelError(
        fmt::format("pair_style nbody model file {} lists no level cutoffs; {}", file, ADVICE));
  double sum = 0.0;
  for (double c : info.cutoffs) {
    if (!(c > 0.0))
      throw ModelError(fmt::format("pair_style nbody model file {} has a level cutoff {} <= 0; {}",
                                   file, c, ADVICE));
    sum += c;
  }
  if (!(info.receptive_field >= sum * (1.0 - 1e-12)))
    throw ModelError(
        fmt::format("pair_style nbody model file {} has receptive_field {} smaller than the sum of "
                    "its level cutoffs {}; {}",
                    file, info.receptive_field, sum, ADVICE));
  if (info.dtype != "float64" && info.dtype != "float32")
    throw ModelError(fmt::format(
        "pair_style nbody model file {} has dtype '{}'; expected float32 or float64; {}", file,
        info.dtype, ADVICE));
}

std::string join(const std::vector<std::string> &v)
{
  std::string out;
  for (const auto &x : v) out += (out.empty() ? "" : " ") + x;
  return out;
}

std::string join(const std::vector<double> &v)
{
  std::string out;
  for (double x : v) out += fmt::format("{}{:.15g}", out.empty() ? "" : " ", x);
  return out;
}

}    // namespace

/* ---------------------------------------------------------------------- */

std::string describe_model(const ModelInfo &info, int index)
{
  std::string spec, cuts;
  for (const auto &s : info.species) spec += " " + s;
  for (double c : info.cutoffs) cuts += fmt::format(" {:g}", c);
  std::string text = fmt::format(
      "pair nbody: model {}{} (format {}, {})\n  species:{}\n  {} levels, cutoffs:{} A, "
      "receptive field {:g} A\n",
      index == 0 ? "" : fmt::format("{} of the ensemble, ", index + 1), info.file,
      info.format_version, info.dtype, spec, info.cutoffs.size(), cuts, info.receptive_field);
  if (!info.model_hash.empty() || !info.written_by.empty())
    text += fmt::format("  model_hash {}, written by nbody-lmp {}\n",
                        info.model_hash.empty() ? "?" : info.model_hash,
                        info.written_by.empty() ? "?" : info.written_by);
  return text;
}

std::string ensemble_mismatch(const ModelInfo &first, const ModelInfo &model, int index)
{
  const std::string fix =
      "all models of pair_coeff must have the same species in the same order and the same "
      "level cutoffs (an ensemble from 'nbody-lmp train --ensemble N' has)";
  if (model.species != first.species)
    return fmt::format(
        "pair_coeff: model {} (model {} of the ensemble) has species [{}], but the first "
        "model {} has [{}]: {}",
        model.file, index + 1, join(model.species), first.file, join(first.species), fix);
  const std::vector<double> &cut = model.cutoffs, &cut0 = first.cutoffs;
  bool same = cut.size() == cut0.size();
  for (size_t k = 0; same && k < cut.size(); k++)
    same = std::fabs(cut[k] - cut0[k]) <= 1e-12 * std::fabs(cut0[k]);
  if (!same)
    return fmt::format(
        "pair_coeff: model {} (model {} of the ensemble) has {} level cutoffs [{}] A, but "
        "the first model {} has {} [{}] A: {}",
        model.file, index + 1, cut.size(), join(cut), first.file, cut0.size(), join(cut0), fix);
  return "";
}

/* ---------------------------------------------------------------------- */

std::string Placement::device() const
{
  return cuda ? fmt::format("cuda:{}", gpu) : std::string("cpu");
}

Placement choose_placement(DeviceRequest request, MPI_Comm world, int omp_threads)
{
  Placement where;
  // node-local rank: which GPU to use, and how many CPU cores to share
  int me = 0;
  MPI_Comm_rank(world, &me);
  MPI_Comm local;
  MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, me, MPI_INFO_NULL, &local);
  MPI_Comm_rank(local, &where.local_rank);
  MPI_Comm_size(local, &where.local_size);
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
  where.visible_gpus = cuda ? ngpu : 0;

  if (request == DeviceRequest::CUDA && !cuda)
    throw ModelError(fmt::format(
        "pair_style nbody device cuda: no CUDA GPU is usable on this node ({}); use "
        "device cpu or device auto",
        torch::cuda::is_available() ? "no device" : "libtorch has no CUDA or no GPU is visible"));

  where.cuda = cuda && request != DeviceRequest::CPU;
  if (where.cuda) where.gpu = where.local_rank % ngpu;

  // CPU threads for libtorch: those of `package omp N`, else OMP_NUM_THREADS if set (libtorch
  // reads it itself), else the cores of the node shared among the node's MPI ranks
  if (!where.cuda) {
    int nthreads = omp_threads;
    if (nthreads < 1 && !std::getenv("OMP_NUM_THREADS")) {
      const int cores = (int) std::thread::hardware_concurrency();
      nthreads = std::max(1, cores / std::max(1, where.local_size));
    }
    if (nthreads > 0 && at::get_num_threads() != nthreads) at::set_num_threads(nthreads);
  }
  where.cpu_threads = at::get_num_threads();
  return where;
}

std::string describe_placement(const Placement &where, DeviceRequest request, bool float64)
{
  std::string place;
  if (where.cuda)
    place = fmt::format("CUDA ({} on MPI rank 0; GPU = node-local MPI rank modulo {} visible GPUs)",
                        where.device(), where.visible_gpus);
  else
    place = fmt::format("CPU, {} libtorch thread(s) per MPI rank, {} allocator", where.cpu_threads,
                        use_caching_cpu_allocator() ? "caching" : "system");
  if (request == DeviceRequest::AUTO && !where.cuda && where.visible_gpus == 0)
    place += " (device auto: no CUDA GPU available)";
  return fmt::format("pair nbody: running on {} in {}\n", place, float64 ? "float64" : "float32");
}

/* ---------------------------------------------------------------------- */

// Everything that holds libtorch types.
struct NBodyModel::Impl {
  ModelInfo info;
  torch::jit::script::Module module;
  torch::ScalarType model_dtype = torch::kFloat64;    // as exported
  torch::ScalarType dtype = torch::kFloat64;          // as run
  torch::Device device = torch::Device(torch::kCPU);
  // the last evaluation, float64 on the CPU
  torch::Tensor energies;
  std::vector<torch::Tensor> grads;

  std::vector<torch::jit::IValue> inputs(const LocalHierarchy &graph,
                                         std::vector<torch::Tensor> &leaves) const;
};

NBodyModel::NBodyModel(std::unique_ptr<Impl> p) : impl(std::move(p)) {}
NBodyModel::NBodyModel(NBodyModel &&) noexcept = default;
NBodyModel &NBodyModel::operator=(NBodyModel &&) noexcept = default;
NBodyModel::~NBodyModel() = default;

const ModelInfo &NBodyModel::info() const
{
  return impl->info;
}

bool NBodyModel::runs_in_float64() const
{
  return impl->dtype == torch::kFloat64;
}

/* ----------------------------------------------------------------------
   read the model file on rank 0, broadcast its bytes, load it on every rank; the bytes are
   identical, so every rank succeeds or fails alike
------------------------------------------------------------------------- */

NBodyModel NBodyModel::load(const std::string &file, MPI_Comm world)
{
  const std::string bytes = read_everywhere(file, world);

  auto impl = std::make_unique<Impl>();
  ModelInfo &info = impl->info;
  info.file = file;
  info.format_version = -1;
  std::string problem;
  const int64_t declared = declared_format_version(bytes);
  if (declared > NEWEST_FORMAT_VERSION) throw ModelError(version_message(file, declared));
  torch::jit::ExtraFilesMap extra{{"metadata.json", ""}};
  try {
    std::istringstream stream(bytes);
    torch::jit::script::Module &module = impl->module;
    module = torch::jit::load(stream, torch::Device(torch::kCPU), extra);
    for (const char *name : {"format_version", "species", "cutoffs", "receptive_field", "dtype"})
      if (!module.hasattr(name))
        throw std::runtime_error(fmt::format("the model has no attribute '{}'", name));
    info.format_version = module.attr("format_version").toInt();
    if (info.format_version >= OLDEST_FORMAT_VERSION &&
        info.format_version <= NEWEST_FORMAT_VERSION) {
      for (const auto &s : module.attr("species").toListRef())
        info.species.push_back(s.toStringRef());
      for (const auto &c : module.attr("cutoffs").toListRef()) info.cutoffs.push_back(c.toDouble());
      info.receptive_field = module.attr("receptive_field").toDouble();
      info.dtype = module.attr("dtype").toStringRef();
      if (module.hasattr("shortest_distance"))
        for (const auto &d : module.attr("shortest_distance").toListRef())
          info.shortest_distance.push_back(d.toDouble());
    }
  } catch (const c10::Error &e) {
    problem = torch_message(e);
  } catch (const std::exception &e) {
    problem = e.what();
  }
  if (!problem.empty()) {
    auto eol = problem.find('\n');
    if (eol != std::string::npos) problem = problem.substr(0, eol);
    throw ModelError(
        fmt::format("pair_style nbody model file {} is not a valid nbody-lmp model (TorchScript "
                    "archive): {}; {}",
                    file, problem, ADVICE));
  }
  check_info(info);
  info.model_hash = json_scalar(extra["metadata.json"], "model_hash");
  info.written_by = json_scalar(extra["metadata.json"], "nbody_lmp_version");
  impl->model_dtype = impl->dtype = info.dtype == "float64" ? torch::kFloat64 : torch::kFloat32;

  impl->module.eval();
  choose_graph_executor();
  use_caching_cpu_allocator();
  return NBodyModel(std::move(impl));
}

/* ---------------------------------------------------------------------- */

void NBodyModel::place(const Placement &where, DtypeRequest dtype)
{
  impl->dtype = impl->model_dtype;
  if (dtype == DtypeRequest::FLOAT32) impl->dtype = torch::kFloat32;
  if (dtype == DtypeRequest::FLOAT64) impl->dtype = torch::kFloat64;
  const torch::Device device = where.cuda
                                   ? torch::Device(torch::kCUDA, (c10::DeviceIndex) where.gpu)
                                   : torch::Device(torch::kCPU);
  try {
    c10::OptionalDeviceGuard device_guard;    // this rank's GPU, not GPU 0 (see evaluate)
    if (device.is_cuda()) device_guard.reset_device(device);
    impl->module.to(device, impl->dtype);
  } catch (const c10::Error &e) {
    throw ModelError(fmt::format("pair_style nbody: cannot move the model to {} {}: {}",
                                 device.str(), c10::toString(impl->dtype), torch_message(e)));
  }
  impl->device = device;
}

/* ----------------------------------------------------------------------
   the forward arguments of docs/model-format.md ("forward") on the model's device and dtype;
   the edge vectors that the energy is differentiated by go to `leaves`
------------------------------------------------------------------------- */

std::vector<torch::jit::IValue> NBodyModel::Impl::inputs(const LocalHierarchy &graph,
                                                         std::vector<torch::Tensor> &leaves) const
{
  const int K = graph.levels;
  const bool same_place = device.is_cpu() && dtype == torch::kFloat64;
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  // from_blob wants a mutable pointer; the tensors over the graph's buffers are only read
  auto *g = const_cast<LocalHierarchy *>(&graph);

  torch::Tensor species = torch::from_blob(g->node_species.data(), {graph.num_nodes()}, i64);
  if (!device.is_cpu()) species = species.to(device);

  c10::List<torch::Tensor> edge_index;
  c10::List<torch::Tensor> edge_vectors;
  edge_index.reserve(K);
  edge_vectors.reserve(K);
  leaves.clear();
  leaves.reserve(K);
  for (int k = 0; k < K; k++) {
    const int64_t E = graph.num_edges(k);
    torch::Tensor index = torch::from_blob(g->edge_index[k].data(), {2, E}, i64);
    torch::Tensor vectors = torch::from_blob(g->edge_vectors[k].data(), {E, 3}, f64);
    if (!device.is_cpu()) index = index.to(device);
    if (!same_place) vectors = vectors.to(device, dtype);
    vectors.requires_grad_(true);
    edge_index.push_back(index);
    edge_vectors.push_back(vectors);
    leaves.push_back(vectors);
  }
  c10::List<int64_t> n_nodes(graph.n_nodes);

  std::vector<torch::jit::IValue> args;
  args.reserve(4);
  args.emplace_back(species);
  args.emplace_back(edge_index);
  args.emplace_back(edge_vectors);
  args.emplace_back(n_nodes);
  return args;
}

/* ---------------------------------------------------------------------- */

void NBodyModel::evaluate(const LocalHierarchy &graph, EvaluationTimes *times)
{
  const int K = graph.levels;
  const int64_t nowned = graph.n_nodes[K];
  const torch::Device device = impl->device;
  impl->energies = torch::Tensor();
  impl->grads.assign(K, torch::Tensor());
  bool failed = false;
  std::string problem;
  try {
    // make this rank's GPU the current device: the autograd engine and the caching allocator
    // then work on it rather than on GPU 0 (several ranks per node, several GPUs)
    c10::OptionalDeviceGuard device_guard;
    if (device.is_cuda()) device_guard.reset_device(device);
    torch::AutoGradMode enable_grad(true);
    std::vector<torch::Tensor> leaves;
    std::vector<torch::jit::IValue> args = impl->inputs(graph, leaves);

    const double t1 = times ? wall_time() : 0.0;
    torch::Tensor out = impl->module.forward(args).toTensor();
    // CUDA kernels run asynchronously: wait for them, or the forward time would go to the backward
    if (times && device.is_cuda()) torch::cuda::synchronize(device.index());
    const double t2 = times ? wall_time() : 0.0;
    if (times) times->forward += t2 - t1;
    if (out.dim() != 1 || out.size(0) != nowned)
      throw std::runtime_error(fmt::format(
          "the model returned a tensor of shape {} instead of the {} per-atom energies of the "
          "owned atoms",
          c10::str(out.sizes()), nowned));
    torch::Tensor total = out.sum();
    if (total.requires_grad())
      impl->grads = torch::autograd::grad({total}, leaves, {}, /*retain_graph=*/false,
                                          /*create_graph=*/false, /*allow_unused=*/true);
    // else no edge at all (isolated atoms): no forces
    impl->energies = out.detach().to(torch::kCPU, torch::kFloat64).contiguous();
    for (auto &g : impl->grads)
      if (g.defined()) g = g.to(torch::kCPU, torch::kFloat64).contiguous();
    if (times) times->backward += wall_time() - t2;
  } catch (const c10::Error &e) {
    failed = true;
    problem = torch_message(e);
  } catch (const std::exception &e) {
    failed = true;
    problem = e.what();
  }
  if (failed) throw ModelError(problem);
}

const double *NBodyModel::energies() const
{
  return impl->energies.defined() ? impl->energies.data_ptr<double>() : nullptr;
}

const double *NBodyModel::edge_gradient(int level) const
{
  const torch::Tensor &g = impl->grads[level];
  return g.defined() ? g.data_ptr<double>() : nullptr;
}

}    // namespace NBodyLMP
