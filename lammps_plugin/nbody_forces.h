// Forces and virials of pair_style nbody from what a model returns, the gradients
// g_e = dE/d(edge_vectors[k][e]) of its energy (docs/model-format.md, "Forces and virial"):
// for an edge (i, j) with vector d = r_j - r_i, f_i += g, f_j -= g, and the edge's virial
// -d (x) g, half to i and half to j.  Plain C++17 (no LAMMPS or libtorch headers), like
// nbody_graph.h.
#ifndef NBODY_LMP_FORCES_H
#define NBODY_LMP_FORCES_H

#include "nbody_graph.h"

namespace NBodyLMP {

// grads[k]: the [E_k, 3] gradient of level k (row-major), or nullptr where the energy does not
// depend on that level's edges.  Forces go to f[atom][0..2] of the nodes' atoms (node_atom);
// `virial` (6 entries in LAMMPS order xx yy zz xy xz yz) and `vatom` (per atom, 6 entries) are
// added to where not null.
void tally_forces(const LocalHierarchy &graph, const double *const *grads, double **f,
                  double *virial, double **vatom);

// The forces of model `index` of an ensemble of M models into forces[(atom * M + index) * 3 + c]
// (model deviation: docs/lammps.md, "Several models: model deviation").
void tally_model_forces(const LocalHierarchy &graph, const double *const *grads, int M, int index,
                        double *forces);

}    // namespace NBodyLMP

#endif
