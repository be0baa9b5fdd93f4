// Model deviation of an ensemble: nbody_deviation.h (docs/lammps.md, "Several models: model
// deviation").

#include "nbody_deviation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace NBodyLMP {

double force_deviation(const double *f, int M)
{
  double mean[3] = {0.0, 0.0, 0.0};
  for (int m = 0; m < M; m++)
    for (int c = 0; c < 3; c++) mean[c] += f[3 * m + c];
  for (int c = 0; c < 3; c++) mean[c] /= M;
  double sq = 0.0;
  for (int m = 0; m < M; m++)
    for (int c = 0; c < 3; c++) {
      const double d = f[3 * m + c] - mean[c];
      sq += d * d;
    }
  return std::sqrt(sq / M);
}

double energy_deviation(const double *e, int M)
{
  double mean = 0.0;
  for (int m = 0; m < M; m++) mean += e[m];
  mean /= M;
  double sq = 0.0;
  for (int m = 0; m < M; m++) sq += (e[m] - mean) * (e[m] - mean);
  return std::sqrt(sq / M);
}

std::string deviation_file_header(int M)
{
  char buf[256];
  std::snprintf(
      buf, sizeof(buf),
      "#%11s %18s %18s %18s %18s %18s %18s %18s   (pair_style nbody, %d models; eV/A, eV)", "step",
      "max_devi_f", "min_devi_f", "avg_devi_f", "max_devi_e", "min_devi_e", "avg_devi_e", "devi_e",
      M);
  return buf;
}

void EnsembleStep::start(int M_, int nall, int nlocal_)
{
  M = M_;
  nlocal = nlocal_;
  forces_.assign((std::size_t) nall * M * 3, 0.0);
  energies_.assign((std::size_t) nlocal * M, 0.0);
}

int EnsembleStep::pack(int n, int first, double *buf) const
{
  const int width = 3 * M;
  int m = 0;
  for (int i = first; i < first + n; i++) {
    const double *src = &forces_[(std::size_t) i * width];
    for (int c = 0; c < width; c++) buf[m++] = src[c];
  }
  return m;
}

void EnsembleStep::unpack(int n, const int *list, const double *buf)
{
  const int width = 3 * M;
  int m = 0;
  for (int i = 0; i < n; i++) {
    double *dst = &forces_[(std::size_t) list[i] * width];
    for (int c = 0; c < width; c++) dst[c] += buf[m++];
  }
}

void EnsembleStep::finish()
{
  deviation_.resize((std::size_t) nlocal * 2);
  for (int i = 0; i < nlocal; i++) {
    deviation_[2 * (std::size_t) i] = force_deviation(&forces_[(std::size_t) i * M * 3], M);
    deviation_[2 * (std::size_t) i + 1] = energy_deviation(&energies_[(std::size_t) i * M], M);
  }
}

double EnsembleStep::memory_usage() const
{
  return (double) (forces_.capacity() + energies_.capacity() + deviation_.capacity()) *
         sizeof(double);
}

DeviationSummary::DeviationSummary(int M_) :
    M(M_), n(0), fmax(-std::numeric_limits<double>::infinity()),
    fmin(std::numeric_limits<double>::infinity()), fsum(0.0),
    emax(-std::numeric_limits<double>::infinity()), emin(std::numeric_limits<double>::infinity()),
    esum(0.0), totals(M_, 0.0)
{}

void DeviationSummary::add(double force_dev, double energy_dev, const double *model_energies)
{
  n++;
  fmax = std::max(fmax, force_dev);
  fmin = std::min(fmin, force_dev);
  fsum += force_dev;
  emax = std::max(emax, energy_dev);
  emin = std::min(emin, energy_dev);
  esum += energy_dev;
  for (int m = 0; m < M; m++) totals[m] += model_energies[m];
}

void DeviationSummary::reduce(MPI_Comm comm)
{
  long long nall = 0;
  MPI_Allreduce(&n, &nall, 1, MPI_LONG_LONG, MPI_SUM, comm);
  double mx[2] = {fmax, emax}, mn[2] = {fmin, emin}, gmx[2], gmn[2];
  MPI_Allreduce(mx, gmx, 2, MPI_DOUBLE, MPI_MAX, comm);
  MPI_Allreduce(mn, gmn, 2, MPI_DOUBLE, MPI_MIN, comm);
  std::vector<double> local(totals), sums(M + 2);
  local.push_back(fsum);
  local.push_back(esum);
  MPI_Allreduce(local.data(), sums.data(), M + 2, MPI_DOUBLE, MPI_SUM, comm);
  n = nall;
  fmax = gmx[0];
  emax = gmx[1];
  fmin = gmn[0];
  emin = gmn[1];
  for (int m = 0; m < M; m++) totals[m] = sums[m];
  fsum = sums[M];
  esum = sums[M + 1];
}

std::vector<double> DeviationSummary::values() const
{
  if (n == 0) return std::vector<double>(7, 0.0);
  const double devi_e = energy_deviation(totals.data(), M) / (double) n;
  return {fmax, fmin, fsum / n, emax, emin, esum / n, devi_e};
}

std::string DeviationSummary::line(long long step) const
{
  const std::vector<double> v = values();
  char buf[256];
  std::snprintf(buf, sizeof(buf), "%12lld %18.10e %18.10e %18.10e %18.10e %18.10e %18.10e %18.10e",
                step, v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
  return buf;
}

bool DeviationFile::open(const std::string &path, int M)
{
  close();
  fp = std::fopen(path.c_str(), "w");
  if (!fp) return false;
  write(deviation_file_header(M));
  return true;
}

void DeviationFile::write(const std::string &line)
{
  if (!fp) return;
  std::fputs(line.c_str(), fp);
  std::fputc('\n', fp);
  std::fflush(fp);
}

void DeviationFile::close()
{
  if (fp) std::fclose(fp);
  fp = nullptr;
}

}    // namespace NBodyLMP
