// Forces and virials from the edge gradients: see nbody_forces.h.
#include "nbody_forces.h"

#include <cstddef>
#include <cstdint>

namespace NBodyLMP {

void tally_forces(const LocalHierarchy &graph, const double *const *grads, double **f,
                  double *virial, double **vatom)
{
  const int *atom_of = graph.node_atom.data();
  double vsum[6] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
  const bool virial_needed = virial || vatom;
  for (int k = 0; k < graph.levels; k++) {
    const int64_t E = graph.num_edges(k);
    const double *g = grads[k];
    if (E == 0 || !g) continue;
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
        if (virial)
          for (int c = 0; c < 6; c++) vsum[c] += v[c];
        if (vatom)
          for (int c = 0; c < 6; c++) {
            vatom[i][c] += 0.5 * v[c];
            vatom[j][c] += 0.5 * v[c];
          }
      }
    }
  }
  if (virial)
    for (int c = 0; c < 6; c++) virial[c] += vsum[c];
}

void tally_model_forces(const LocalHierarchy &graph, const double *const *grads, int M, int index,
                        double *forces)
{
  const int *atom_of = graph.node_atom.data();
  for (int k = 0; k < graph.levels; k++) {
    const int64_t E = graph.num_edges(k);
    const double *g = grads[k];
    if (E == 0 || !g) continue;
    const int64_t *src = graph.edge_index[k].data();
    const int64_t *dst = src + E;
    for (int64_t a = 0; a < E; a++) {
      double *fi = &forces[((std::size_t) atom_of[src[a]] * M + index) * 3];
      double *fj = &forces[((std::size_t) atom_of[dst[a]] * M + index) * 3];
      for (int c = 0; c < 3; c++) {
        fi[c] += g[3 * a + c];
        fj[c] -= g[3 * a + c];
      }
    }
  }
}

}    // namespace NBodyLMP
