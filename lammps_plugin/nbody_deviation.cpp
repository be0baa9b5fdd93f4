// Model deviation of an ensemble: nbody_deviation.h (issue 13; docs/lammps.md).

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
  std::snprintf(buf, sizeof(buf),
                "#%11s %18s %18s %18s %18s %18s %18s %18s   (pair_style nbody, %d models; eV/A, eV)",
                "step", "max_devi_f", "min_devi_f", "avg_devi_f", "max_devi_e", "min_devi_e",
                "avg_devi_e", "devi_e", M);
  return buf;
}

DeviationSummary::DeviationSummary(int M_) :
    M(M_), n(0), fmax(-std::numeric_limits<double>::infinity()),
    fmin(std::numeric_limits<double>::infinity()), fsum(0.0),
    emax(-std::numeric_limits<double>::infinity()), emin(std::numeric_limits<double>::infinity()),
    esum(0.0), totals(M_, 0.0)
{
}

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

}    // namespace NBodyLMP
