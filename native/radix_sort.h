#pragma once

#include <cstddef>
#include <cstdint>

namespace audiencehub {

/** Sorts data[0, n) ascending; scratch holds at least n ids and is overwritten. Returns at once when already sorted. */
void radixSort(uint32_t* data, uint32_t* scratch, size_t n);
/** Drops repeats from sorted data[0, n) in place; returns the distinct count. */
size_t dedupeSorted(uint32_t* data, size_t n);

}  // namespace audiencehub
