/* ----------------------------------------------------------------------
   The caching CPU allocator of nbody_allocator.h.

   Sizes are rounded up to a size class: multiples of 64 bytes up to 4 kB, then eight classes
   per power of two (at most 12.5 % more than asked).  A freed block goes to its class's free
   list; an allocation takes a block of its class from there before it asks the system.  The
   free lists hold at most as many bytes as were ever live at once, so a run whose sizes drift
   (edge counts change as atoms move) returns the surplus instead of growing without bound.
   Blocks are 64-byte aligned, as libtorch's own, with the class size in a 64-byte header.

   The plugin library is linked with -z nodelete: tensors made here may be freed after LAMMPS
   has closed the plugin, and their deleter must still be there.
------------------------------------------------------------------------- */

#include "nbody_allocator.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace NBodyLMP {
namespace {

constexpr std::size_t HEADER = 64;

std::size_t size_class(std::size_t n)
{
  if (n <= 4096) return (n + 63) / 64 * 64;
  std::size_t p = 4096;
  while (p * 2 <= n) p *= 2;
  const std::size_t step = p / 8;
  return (n + step - 1) / step * step;
}

class CachingCPUAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(std::size_t n) override
  {
    const std::size_t size = size_class(n);
    void *base = take(size);    // counts the block as live, found or not
    if (!base) base = c10::alloc_cpu(size + HEADER);
    std::memcpy(base, &size, sizeof(size));
    return {static_cast<char *>(base) + HEADER, base, &release, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return nullptr; }

  void copy_data(void *dest, const void *src, std::size_t count) const override
  {
    default_copy_data(dest, src, count);
  }

  std::size_t cached_bytes()
  {
    std::lock_guard<std::mutex> lock(mutex);
    return cached;
  }

  std::size_t live_bytes()
  {
    std::lock_guard<std::mutex> lock(mutex);
    return live;
  }

  static void release(void *base);

 private:
  // counts a block of `size` as live and returns a cached one of its class, or null
  void *take(std::size_t size)
  {
    std::lock_guard<std::mutex> lock(mutex);
    live += size;
    if (live > peak_live) peak_live = live;
    auto it = free_lists.find(size);
    if (it == free_lists.end() || it->second.empty()) return nullptr;
    void *base = it->second.back();
    it->second.pop_back();
    cached -= size;
    return base;
  }

  void give_back(void *base)
  {
    std::size_t size;
    std::memcpy(&size, base, sizeof(size));
    {
      std::lock_guard<std::mutex> lock(mutex);
      live -= size;
      if (cached + size <= peak_live) {
        free_lists[size].push_back(base);
        cached += size;
        return;
      }
    }
    c10::free_cpu(base);
  }

  std::mutex mutex;
  std::unordered_map<std::size_t, std::vector<void *>> free_lists;
  std::size_t cached = 0, live = 0, peak_live = 0;
};

// never destroyed: tensors may be freed during the process's exit, after static destructors
CachingCPUAllocator &instance()
{
  static auto *allocator = new CachingCPUAllocator();
  return *allocator;
}

void CachingCPUAllocator::release(void *base)
{
  instance().give_back(base);
}

}    // namespace

bool use_caching_cpu_allocator()
{
  static const bool in_use = [] {
    const char *choice = std::getenv("NBODY_LMP_CPU_ALLOCATOR");
    if (choice && std::strcmp(choice, "system") == 0) return false;
    c10::SetCPUAllocator(&instance(), /*priority=*/1);
    return true;
  }();
  return in_use;
}

std::size_t cached_cpu_bytes()
{
  return instance().cached_bytes();
}

std::size_t live_cpu_bytes()
{
  return instance().live_bytes();
}

}    // namespace NBodyLMP
