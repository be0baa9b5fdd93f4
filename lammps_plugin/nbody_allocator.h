/* ----------------------------------------------------------------------
   A caching allocator for libtorch's CPU tensors in pair_style nbody (docs/lammps.md,
   "Performance notes": memory between steps).  Each MD step allocates and frees the same
   intermediate tensors; the system allocator returns the large ones to the kernel and
   page-faults them in again at the next step.  This one keeps freed blocks, by size class, for
   the next allocation of that class.
------------------------------------------------------------------------- */

#ifndef NBODY_ALLOCATOR_H
#define NBODY_ALLOCATOR_H

#include <cstddef>

namespace NBodyLMP {

// Makes the caching allocator libtorch's CPU allocator for the rest of the process (once;
// NBODY_LMP_CPU_ALLOCATOR=system keeps libtorch's own).  Returns whether it is in use.
bool use_caching_cpu_allocator();

// Bytes the cache holds in freed blocks, and in blocks handed out.
std::size_t cached_cpu_bytes();
std::size_t live_cpu_bytes();

}    // namespace NBodyLMP

#endif
