// Local hierarchy builder for pair_style nbody: docs/model-format.md ("Nodes", "Edges of level
// k").  See nbody_graph.h.
#include "nbody_graph.h"

#include <algorithm>

namespace NBodyLMP {

void HierarchyBuilder::set_cutoffs(const std::vector<double> &cutoffs)
{
  cutoffs_ = cutoffs;
  cutsq_.resize(cutoffs.size());
  for (std::size_t k = 0; k < cutoffs.size(); ++k) cutsq_[k] = cutoffs[k] * cutoffs[k];
}

bool HierarchyBuilder::build(int nall, const double *const *x, const int *atom_species,
                             const NeighborView &list, LocalHierarchy &out, int &missing_atom,
                             const int *fold)
{
  const int K = (int) cutoffs_.size();
  missing_atom = -1;
  out.levels = K;
  out.node_atom.clear();
  out.node_species.clear();
  out.n_nodes.assign(K + 1, 0);
  out.edge_index.resize(K);
  out.edge_vectors.resize(K);

  if ((int) node_of_atom_.size() < nall) {
    node_of_atom_.resize(nall);
    listed_.resize(nall);
  }
  std::fill(node_of_atom_.begin(), node_of_atom_.begin() + nall, -1);
  std::fill(listed_.begin(), listed_.begin() + nall, 0);
  const int nlisted = list.inum + list.gnum;
  for (int ii = 0; ii < nlisted; ++ii) listed_[list.ilist[ii]] = 1;

  // level K: the owned atoms the model sees
  for (int ii = 0; ii < list.inum; ++ii) {
    const int i = list.ilist[ii];
    if (atom_species[i] < 0) continue;
    node_of_atom_[i] = (int) out.node_atom.size();
    out.node_atom.push_back(i);
    out.node_species.push_back(atom_species[i]);
  }
  out.n_nodes[K] = (int64_t) out.node_atom.size();

  // levels K .. 1: the parents of level k are nodes 0 .. n_nodes[k]-1; their children within
  // cutoffs[k-1] that are not nodes yet are appended, so that the level-(k-1) nodes are again
  // a prefix.  Children are found through the parents' neighbour lists, so a ghost needs one
  // only if it is a parent, i.e. needed at a level >= 1.
  for (int k = K; k >= 1; --k) {
    const double cutsq = cutsq_[k - 1];
    const int64_t nparents = out.n_nodes[k];
    src_.clear();
    dst_.clear();
    std::vector<double> &vec = out.edge_vectors[k - 1];
    vec.clear();
    for (int64_t p = 0; p < nparents; ++p) {
      const int i = out.node_atom[p];
      if (!listed_[i]) {
        missing_atom = i;
        return false;
      }
      const double xi = x[i][0], yi = x[i][1], zi = x[i][2];
      const int *jlist = list.firstneigh[i];
      const int jnum = list.numneigh[i];
      for (int jj = 0; jj < jnum; ++jj) {
        const int j = jlist[jj] & list.neighmask;
        if (atom_species[j] < 0) continue;
        const double dx = x[j][0] - xi, dy = x[j][1] - yi, dz = x[j][2] - zi;
        if (dx * dx + dy * dy + dz * dz >= cutsq) continue;
        const int a = fold ? fold[j] : j;    // the atom whose node stands for j
        int c = node_of_atom_[a];
        if (c < 0) {
          c = (int) out.node_atom.size();
          node_of_atom_[a] = c;
          out.node_atom.push_back(a);
          out.node_species.push_back(atom_species[a]);
        }
        src_.push_back(p);
        dst_.push_back(c);
        vec.push_back(dx);
        vec.push_back(dy);
        vec.push_back(dz);
      }
    }
    out.n_nodes[k - 1] = (int64_t) out.node_atom.size();
    std::vector<int64_t> &index = out.edge_index[k - 1];
    index.resize(2 * src_.size());
    std::copy(src_.begin(), src_.end(), index.begin());
    std::copy(dst_.begin(), dst_.end(), index.begin() + src_.size());
  }
  return true;
}

}    // namespace NBodyLMP
