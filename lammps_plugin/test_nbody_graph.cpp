// Unit test of the local hierarchy builder (nbody_graph.{h,cpp}) without LAMMPS or libtorch:
// level k is needed within (levels - k) cutoffs of an owned atom (docs/model-format.md, "Nodes",
// "Edges of level k").  Run by tests/lammps/test_graph_builder.py; prints "OK" and exits 0 on
// success.
//
// Random owned atoms in a box plus random ghost atoms around it, a brute-force full neighbour
// list with ghosts (as LAMMPS's REQ_FULL | REQ_GHOST), some atoms of an ignored (NULL) type; the
// builder's nodes, prefixes and edges are compared with a brute-force construction.

#include "nbody_graph.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>
#include <tuple>
#include <vector>

using NBodyLMP::HierarchyBuilder;
using NBodyLMP::LocalHierarchy;
using NBodyLMP::NeighborView;

static int failures = 0;
#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "FAILED %s:%d: %s: ", __FILE__, __LINE__, #cond);                       \
      std::fprintf(stderr, __VA_ARGS__);                                                           \
      std::fprintf(stderr, "\n");                                                                  \
      ++failures;                                                                                  \
    }                                                                                              \
  } while (0)

struct Case {
  std::vector<double> cut;
  double box, shell;
  int nlocal, nghost;
  double null_fraction;
  unsigned seed;
};

static double dist2(const std::vector<double *> &x, int i, int j)
{
  double s = 0;
  for (int c = 0; c < 3; ++c) s += (x[j][c] - x[i][c]) * (x[j][c] - x[i][c]);
  return s;
}

// random owned atoms in the box, ghosts outside it, some of an ignored (NULL, -1) species
struct Atoms {
  int nlocal = 0, nall = 0;
  std::vector<double> storage;
  std::vector<double *> x;
  std::vector<int> species;
};

static void random_atoms(const Case &cs, std::mt19937 &rng, Atoms &a)
{
  std::uniform_real_distribution<double> inbox(0.0, cs.box), outer(-cs.shell, cs.box + cs.shell);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  a.nlocal = cs.nlocal;
  a.nall = cs.nlocal + cs.nghost;
  a.storage.assign(3 * a.nall, 0.0);
  a.x.resize(a.nall);
  for (int i = 0; i < a.nall; ++i) a.x[i] = &a.storage[3 * i];
  for (int i = 0; i < cs.nlocal; ++i)
    for (int c = 0; c < 3; ++c) a.x[i][c] = inbox(rng);
  for (int i = cs.nlocal; i < a.nall; ++i) {
    bool inside;
    do {    // ghosts lie outside the owned box
      for (int c = 0; c < 3; ++c) a.x[i][c] = outer(rng);
      inside = true;
      for (int c = 0; c < 3; ++c) inside = inside && a.x[i][c] >= 0 && a.x[i][c] < cs.box;
    } while (inside);
  }
  a.species.resize(a.nall);
  for (int i = 0; i < a.nall; ++i)
    a.species[i] = unit(rng) < cs.null_fraction ? -1 : (int) (rng() % 3);
}

// a brute-force full neighbour list with ghosts (as LAMMPS's REQ_FULL | REQ_GHOST); `view`
// points into the other members
struct FullList {
  std::vector<std::vector<int>> neigh;
  std::vector<int> ilist, numneigh;
  std::vector<int *> firstneigh;
  NeighborView view;
};

// cutoff = max level cutoff; the neighbour entries carry LAMMPS-style special bits in the top
// bits, which the builder must mask off; owned atoms in a shuffled order: the builder must
// follow ilist
static void brute_force_list(const Case &cs, const Atoms &a, std::mt19937 &rng, FullList &l)
{
  double cmax = 0;
  for (double c : cs.cut) cmax = std::max(cmax, c);
  const int nall = a.nall;
  l.neigh.assign(nall, {});
  for (int i = 0; i < nall; ++i)
    for (int j = 0; j < nall; ++j)
      if (i != j && dist2(a.x, i, j) < cmax * cmax)
        l.neigh[i].push_back(j | ((j % 3 == 0) ? (1 << 30) : 0));
  l.ilist.resize(nall);
  l.numneigh.resize(nall);
  l.firstneigh.resize(nall);
  for (int i = 0; i < nall; ++i) l.ilist[i] = i;
  std::shuffle(l.ilist.begin(), l.ilist.begin() + cs.nlocal, rng);
  for (int i = 0; i < nall; ++i) {
    l.numneigh[i] = (int) l.neigh[i].size();
    l.firstneigh[i] = l.neigh[i].data();
  }
  l.view.inum = cs.nlocal;
  l.view.gnum = cs.nghost;
  l.view.ilist = l.ilist.data();
  l.view.numneigh = l.numneigh.data();
  l.view.firstneigh = l.firstneigh.data();
  l.view.neighmask = 0x1FFFFFFF;
}

// brute force: need[k][atom] = 1 where the atom's level-k state is needed
static std::vector<std::vector<char>> needed(const Case &cs, const Atoms &a)
{
  const int K = (int) cs.cut.size();
  std::vector<std::vector<char>> need(K + 1, std::vector<char>(a.nall, 0));
  for (int i = 0; i < cs.nlocal; ++i) need[K][i] = a.species[i] >= 0;
  for (int k = K; k >= 1; --k) {
    need[k - 1] = need[k];
    for (int i = 0; i < a.nall; ++i)
      if (need[k][i])
        for (int j = 0; j < a.nall; ++j)
          if (j != i && a.species[j] >= 0 && dist2(a.x, i, j) < cs.cut[k - 1] * cs.cut[k - 1])
            need[k - 1][j] = 1;
  }
  return need;
}

// the nodes: each model atom once, owned first in ilist order, prefixes = the needed sets
static void check_nodes(const Case &cs, const Atoms &a, const FullList &l, const LocalHierarchy &g,
                        const std::vector<std::vector<char>> &need)
{
  const int K = (int) cs.cut.size();
  const int64_t N = g.num_nodes();
  CHECK((int64_t) g.n_nodes.size() == K + 1, "n_nodes has %zu entries", g.n_nodes.size());
  CHECK(g.n_nodes[0] == N, "n_nodes[0] = %lld != %lld nodes", (long long) g.n_nodes[0],
        (long long) N);
  for (int k = 0; k < K; ++k)
    CHECK(g.n_nodes[k] >= g.n_nodes[k + 1], "n_nodes not non-increasing at %d", k);
  std::vector<int> node_of(a.nall, -1);
  for (int64_t n = 0; n < N; ++n) {
    const int at = g.node_atom[n];
    CHECK(node_of[at] == -1, "atom %d appears twice", at);
    node_of[at] = (int) n;
    CHECK(a.species[at] >= 0, "NULL atom %d is a node", at);
    CHECK(g.node_species[n] == a.species[at], "species of node %lld", (long long) n);
  }
  int64_t n = 0;
  for (int ii = 0; ii < cs.nlocal; ++ii)
    if (a.species[l.ilist[ii]] >= 0) {
      CHECK(g.node_atom[n] == l.ilist[ii], "owned node %lld is atom %d, expected %d", (long long) n,
            g.node_atom[n], l.ilist[ii]);
      ++n;
    }
  CHECK(g.n_nodes[K] == n, "n_nodes[K] = %lld, owned model atoms %lld", (long long) g.n_nodes[K],
        (long long) n);
  for (int k = 0; k <= K; ++k) {
    int64_t count = 0;
    for (int at = 0; at < a.nall; ++at) {
      if (need[k][at]) {
        ++count;
        CHECK(node_of[at] >= 0 && node_of[at] < g.n_nodes[k],
              "atom %d needed at level %d is node %d (prefix %lld)", at, k, node_of[at],
              (long long) g.n_nodes[k]);
      }
    }
    CHECK(count == g.n_nodes[k], "level %d: %lld needed atoms, prefix %lld", k, (long long) count,
          (long long) g.n_nodes[k]);
  }
}

// the edges of each level: exactly the pairs (parent at level k, child within cut[k-1])
static void check_edges(const Case &cs, const Atoms &a, const LocalHierarchy &g,
                        const std::vector<std::vector<char>> &need)
{
  const int K = (int) cs.cut.size();
  for (int k = 1; k <= K; ++k) {
    const int64_t E = g.num_edges(k - 1);
    CHECK((int64_t) g.edge_vectors[k - 1].size() == 3 * E, "edge_vectors size at level %d", k);
    std::set<std::pair<int, int>> got, want;
    for (int64_t e = 0; e < E; ++e) {
      const int64_t p = g.edge_index[k - 1][e], c = g.edge_index[k - 1][E + e];
      CHECK(p < g.n_nodes[k], "level %d parent %lld outside prefix", k, (long long) p);
      CHECK(c < g.n_nodes[k - 1], "level %d child %lld outside prefix", k, (long long) c);
      const int i = g.node_atom[p], j = g.node_atom[c];
      got.insert({i, j});
      for (int d = 0; d < 3; ++d)
        CHECK(g.edge_vectors[k - 1][3 * e + d] == a.x[j][d] - a.x[i][d], "edge vector level %d", k);
    }
    CHECK((int64_t) got.size() == E, "duplicate edges at level %d", k);
    for (int i = 0; i < a.nall; ++i)
      if (need[k][i])
        for (int j = 0; j < a.nall; ++j)
          if (j != i && a.species[j] >= 0 && dist2(a.x, i, j) < cs.cut[k - 1] * cs.cut[k - 1])
            want.insert({i, j});
    CHECK(got == want, "level %d: %zu edges, expected %zu", k, got.size(), want.size());
  }
}

static void run_case(const Case &cs)
{
  std::mt19937 rng(cs.seed);
  Atoms a;
  random_atoms(cs, rng, a);
  FullList l;
  brute_force_list(cs, a, rng, l);

  HierarchyBuilder builder;
  builder.set_cutoffs(cs.cut);
  LocalHierarchy g;
  int missing = -2;
  // build twice: the second build reuses the buffers and must give the same result
  bool ok = builder.build(a.nall, a.x.data(), a.species.data(), l.view, g, missing);
  ok = ok && builder.build(a.nall, a.x.data(), a.species.data(), l.view, g, missing);
  CHECK(ok, "build failed, missing atom %d", missing);
  if (!ok) return;

  const std::vector<std::vector<char>> need = needed(cs, a);
  check_nodes(cs, a, l, g, need);
  check_edges(cs, a, g, need);

  // a ghost needed as a parent without a neighbour list is reported, not read
  const int K = (int) cs.cut.size();
  if (K >= 2 && g.n_nodes[K - 1] > g.n_nodes[K]) {
    NeighborView nog = l.view;
    nog.gnum = 0;
    int miss = -1;
    LocalHierarchy g2;
    CHECK(!builder.build(a.nall, a.x.data(), a.species.data(), nog, g2, miss),
          "missing ghost lists not detected");
    CHECK(miss >= cs.nlocal, "missing atom %d is not a ghost", miss);
  }
}

// One subdomain holding a whole periodic box (one MPI rank): every ghost is a periodic image of
// an owned atom.  With `fold`, the nodes are the owned atoms only, and the level-k edges join each
// owned atom i to the owner of every image j within the cutoff, with the image's vector x_j - x_i.
// the atoms of a periodic box of side L with `nlocal` random atoms, and their images within
// `shell` of the box; owner[j] = the atom of which j is an image (owned atoms: themselves)
static void periodic_images(std::mt19937 &rng, double L, double shell, int nlocal,
                            std::vector<std::array<double, 3>> &pos, std::vector<int> &owner)
{
  std::uniform_real_distribution<double> inbox(0.0, L);
  for (int i = 0; i < nlocal; ++i) {
    pos.push_back({inbox(rng), inbox(rng), inbox(rng)});
    owner.push_back(i);
  }
  for (int a = -2; a <= 2; ++a)
    for (int b = -2; b <= 2; ++b)
      for (int c = -2; c <= 2; ++c) {
        if (a == 0 && b == 0 && c == 0) continue;
        for (int i = 0; i < nlocal; ++i) {
          std::array<double, 3> p = {pos[i][0] + a * L, pos[i][1] + b * L, pos[i][2] + c * L};
          bool inside = true;
          for (int d = 0; d < 3; ++d) inside = inside && p[d] > -shell && p[d] < L + shell;
          if (inside) {
            pos.push_back(p);
            owner.push_back(i);
          }
        }
      }
}

static void run_periodic_fold_case(unsigned seed)
{
  std::mt19937 rng(seed);
  const std::vector<double> cut = {3.0, 2.5};
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const int nlocal = 12;
  std::vector<std::array<double, 3>> pos;
  std::vector<int> owner;
  periodic_images(rng, 5.0, 5.5 + 1.0, nlocal, pos, owner);
  const int nall = (int) pos.size();
  std::vector<double *> x(nall);
  for (int i = 0; i < nall; ++i) x[i] = pos[i].data();
  std::vector<int> species(nall);
  for (int i = 0; i < nlocal; ++i) species[i] = unit(rng) < 0.2 ? -1 : (int) (rng() % 2);
  for (int j = nlocal; j < nall; ++j) species[j] = species[owner[j]];

  std::vector<std::vector<int>> neigh(nall);
  for (int i = 0; i < nall; ++i)
    for (int j = 0; j < nall; ++j)
      if (i != j && dist2(x, i, j) < 9.0) neigh[i].push_back(j);
  std::vector<int> ilist(nall), numneigh(nall);
  std::vector<int *> firstneigh(nall);
  for (int i = 0; i < nall; ++i) {
    ilist[i] = i;
    numneigh[i] = (int) neigh[i].size();
    firstneigh[i] = neigh[i].data();
  }
  NeighborView view;
  view.inum = nlocal;
  view.gnum = nall - nlocal;
  view.ilist = ilist.data();
  view.numneigh = numneigh.data();
  view.firstneigh = firstneigh.data();

  HierarchyBuilder builder;
  builder.set_cutoffs(cut);
  LocalHierarchy g;
  int missing = -1;
  CHECK(builder.build(nall, x.data(), species.data(), view, g, missing, owner.data()),
        "fold build failed");
  int nowned = 0;
  for (int i = 0; i < nlocal; ++i) nowned += species[i] >= 0;
  for (int k = 0; k <= 2; ++k)
    CHECK(g.n_nodes[k] == nowned, "fold: level %d has %lld nodes, owned %d", k,
          (long long) g.n_nodes[k], nowned);
  for (int k = 1; k <= 2; ++k) {
    std::multiset<std::tuple<int, int, long, long, long>> got, want;
    const int64_t E = g.num_edges(k - 1);
    auto key = [](double v) { return std::lround(v * 1e9); };
    for (int64_t e = 0; e < E; ++e) {
      const double *d = &g.edge_vectors[k - 1][3 * e];
      got.insert({g.node_atom[g.edge_index[k - 1][e]], g.node_atom[g.edge_index[k - 1][E + e]],
                  key(d[0]), key(d[1]), key(d[2])});
    }
    for (int i = 0; i < nlocal; ++i) {
      if (species[i] < 0) continue;
      for (int j = 0; j < nall; ++j)
        if (j != i && species[j] >= 0 && dist2(x, i, j) < cut[k - 1] * cut[k - 1])
          want.insert({i, owner[j], key(x[j][0] - x[i][0]), key(x[j][1] - x[i][1]),
                       key(x[j][2] - x[i][2])});
    }
    CHECK(got == want, "fold: level %d has %zu edges, expected %zu", k, got.size(), want.size());
  }
}

int main()
{
  std::vector<Case> cases = {
      {{3.0, 2.5}, 8.0, 6.0, 40, 300, 0.0, 1u},      {{3.0, 2.5}, 8.0, 6.0, 40, 300, 0.25, 2u},
      {{2.0, 3.0, 2.5}, 6.0, 8.0, 25, 400, 0.1, 3u}, {{4.0}, 5.0, 4.5, 20, 150, 0.1, 4u},
      {{3.0, 3.0}, 4.0, 6.5, 0, 80, 0.0, 5u},    // a rank with no owned atoms
      {{3.0, 3.0}, 4.0, 6.5, 5, 0, 0.0, 6u},     // no ghosts (non-periodic, one rank)
  };
  for (const auto &c : cases) run_case(c);
  for (unsigned seed = 10; seed < 14; ++seed) run_periodic_fold_case(seed);

  // empty input
  {
    HierarchyBuilder b;
    b.set_cutoffs({3.0, 3.0});
    LocalHierarchy g;
    NeighborView v;
    int miss;
    CHECK(b.build(0, nullptr, nullptr, v, g, miss), "empty build failed");
    CHECK(g.num_nodes() == 0 && g.n_nodes.size() == 3 && g.num_edges(0) == 0,
          "empty build not empty");
  }

  if (failures) {
    std::fprintf(stderr, "%d failures\n", failures);
    return 1;
  }
  std::printf("OK\n");
  return 0;
}
