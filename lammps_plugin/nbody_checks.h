// Geometry and output checks of pair_style nbody, for the geometries that MD produces and training
// sets do not have (docs/lammps.md, "Short-range repulsion and geometries far from the training
// data"): positions that are not finite, atoms on top of each other, and model outputs that are
// not finite are caught before they reach the integrator, and reported by atom.  Plain C++17 (no
// LAMMPS or libtorch headers), like nbody_graph.h.
#ifndef NBODY_LMP_CHECKS_H
#define NBODY_LMP_CHECKS_H

#include "nbody_graph.h"

#include <cstdint>
#include <string>
#include <vector>

namespace NBodyLMP {

// Two atoms closer than this (Angstrom) are "on top of each other": the spherical harmonics of
// their relative position are undefined.  The same limit as the Python side
// (nbody_lmp.data.graph.MIN_DISTANCE).
constexpr double MIN_DISTANCE = 0.1;

// index of the first of atoms 0..n-1 with a coordinate that is NaN or infinite, or -1
int first_nonfinite_position(int n, const double *const *x);

// an edge shorter than min_distance (< every cutoff), or false; `level` (0-based) and `edge`
// say which
bool find_short_edge(const LocalHierarchy &graph, double min_distance, int &level, int64_t &edge,
                     double &distance);

// index of the first of v[0..n-1] that is NaN or infinite, or -1
int64_t first_nonfinite(const double *v, int64_t n);

// the first edge whose gradient (grads[k]: [E_k, 3], or nullptr) is NaN or infinite, or false;
// `level` (0-based) and `edge` say which
bool find_nonfinite_gradient(const LocalHierarchy &graph, const double *const *grads, int &level,
                             int64_t &edge);

// the first level-1 edge of an owned node (node < n_owned) shorter than the training data's
// shortest distance for its species pair (`shortest`: flattened [S, S], 0 where not known), or
// false; `edge`, its length `distance` and that shortest distance `limit` say which
bool find_edge_below_training(const LocalHierarchy &graph, int64_t n_owned,
                              const std::vector<double> &shortest, int64_t &edge, double &distance,
                              double &limit);

// the warning for the first such edge (find_edge_below_training) of `graph`, naming the atoms by
// `tag` (or local index when tag is null), or an empty string when there is none
std::string below_training_message(const LocalHierarchy &graph,
                                   const std::vector<std::string> &species,
                                   const std::vector<double> &shortest, const int *tag,
                                   int64_t step, const std::string &file);

// an element symbol ("Si", "O") or NULL: what pair_coeff gives per atom type
bool looks_like_element(const std::string &word);

}    // namespace NBodyLMP

#endif
