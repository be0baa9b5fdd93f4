// Local hierarchy builder for pair_style nbody: the nodes and edges of docs/model-format.md
// ("forward": "Nodes", "Edges of level k") for one subdomain, pruned to the atoms that some owned
// atom's energy depends on, and the folding of periodic images (docs/lammps.md, "Ghost atoms and
// the communication cutoff").  Plain C++17: no LAMMPS and no libtorch headers, so that it can
// be unit-tested on its own (tests/lammps/test_graph_builder.py).
#ifndef NBODY_LMP_GRAPH_H
#define NBODY_LMP_GRAPH_H

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace NBodyLMP {

// A LAMMPS-style full neighbour list that includes ghost atoms (REQ_FULL | REQ_GHOST):
// neighbours of atom i are firstneigh[i][0 .. numneigh[i]-1] (masked with neighmask), for every
// owned atom in ilist[0 .. inum-1] and every ghost atom in ilist[inum .. inum+gnum-1].
struct NeighborView {
  int inum = 0;
  int gnum = 0;
  const int *ilist = nullptr;
  const int *numneigh = nullptr;
  int *const *firstneigh = nullptr;
  int neighmask = ~0;
};

// The model inputs of docs/model-format.md for one subdomain.  Node n is atom node_atom[n];
// owned atoms come first.  n_nodes[k] is the number of nodes whose level-k state is computed
// (n_nodes[0] == number of nodes, n_nodes[K] == number of owned model atoms); the level-k
// nodes are the prefix 0 .. n_nodes[k]-1.
struct LocalHierarchy {
  int levels = 0;
  std::vector<int> node_atom;           // atom index (LAMMPS local index) of each node
  std::vector<int64_t> node_species;    // model species index of each node
  std::vector<int64_t> n_nodes;         // K + 1 entries, non-increasing
  std::vector<std::vector<int64_t>>
      edge_index;    // per level: [2, E_k] row-major (parents, then children)
  std::vector<std::vector<double>> edge_vectors;    // per level: [E_k, 3], r_child - r_parent

  int64_t num_edges(int level) const { return (int64_t) edge_index[level].size() / 2; }
  int64_t num_nodes() const { return (int64_t) node_atom.size(); }
  // the atoms of edge e of level `level` (0-based): its parent and its child
  int parent_atom(int level, int64_t e) const { return node_atom[edge_index[level][e]]; }
  int child_atom(int level, int64_t e) const
  {
    return node_atom[edge_index[level][num_edges(level) + e]];
  }
  double memory_usage() const
  {
    double bytes = (double) node_atom.capacity() * (sizeof(int) + sizeof(int64_t));
    for (const auto &v : edge_index) bytes += (double) v.capacity() * sizeof(int64_t);
    for (const auto &v : edge_vectors) bytes += (double) v.capacity() * sizeof(double);
    return bytes;
  }
};

// Reusable builder: keeps its scratch buffers between calls so that a step allocates nothing
// once the buffers have grown to the size of the subdomain.
class HierarchyBuilder {
 public:
  // cutoffs[k-1] is the cutoff of level k (Angstrom).
  void set_cutoffs(const std::vector<double> &cutoffs);
  const std::vector<double> &cutoffs() const { return cutoffs_; }

  // Build the local hierarchy of one subdomain.
  //   nall        owned + ghost atoms (size of x and atom_species)
  //   x           positions, x[i][0..2]
  //   atom_species model species of every atom, or -1 for atoms the model ignores (NULL types)
  //   list        full neighbour list with ghosts, cutoff >= max(cutoffs)
  //   fold        optional (may be null): fold[j] is the owned atom of which ghost j is a periodic
  //               image on this same subdomain, or j itself.  A folded ghost is not a node of its
  //               own: edges to it go to its owner's node (with the ghost's edge vector), since
  //               the owner's states are those of the image.  Owned atoms must have fold[i] == i.
  // Level-K nodes are the owned atoms of the list (ilist[0..inum-1]) with a species; the
  // level-(k-1) nodes are the level-k nodes plus every atom within cutoffs[k-1] of one of them.
  // Edges of level k join each level-k node to every level-(k-1) node within cutoffs[k-1]
  // (except itself).  Returns false (and leaves `out` unusable) if the neighbour list does not
  // cover a node that needs it: a ghost whose neighbours were never listed, i.e. the ghost
  // cutoff is too short; `missing_atom` is then that atom's index.
  bool build(int nall, const double *const *x, const int *atom_species, const NeighborView &list,
             LocalHierarchy &out, int &missing_atom, const int *fold = nullptr);

 private:
  std::vector<double> cutoffs_;
  std::vector<double> cutsq_;
  std::vector<int> node_of_atom_;    // -1 when the atom is not a node (yet)
  std::vector<char> listed_;         // 1 when the atom has a neighbour list
  std::vector<int64_t> src_, dst_;
};

// build()'s `fold` from the atoms' global IDs (LAMMPS tags), without an atom map: fold[j] is the
// owned atom (0 <= i < nlocal) with the ID of ghost j, else j; owned atoms are their own.  The
// image's states equal its owner's (the model is translation invariant and the owner's
// neighbour list is complete), so the owner's node stands for it: on one rank no ghost is a
// node at all, on many only the ghosts owned by other ranks are.  `scratch` is reused.
template <typename Id>
void fold_images(int nlocal, int nall, const Id *id, std::unordered_map<Id, int> &scratch,
                 std::vector<int> &fold)
{
  fold.resize(nall);
  scratch.clear();
  scratch.reserve(2 * (std::size_t) nlocal + 1);
  for (int i = 0; i < nlocal; i++) {
    fold[i] = i;
    scratch.emplace(id[i], i);
  }
  for (int j = nlocal; j < nall; j++) {
    auto it = scratch.find(id[j]);
    fold[j] = (it != scratch.end()) ? it->second : j;
  }
}

}    // namespace NBodyLMP

#endif
