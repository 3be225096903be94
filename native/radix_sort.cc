// LSD radix sort of uint32 ids, the native body of src/infra/bitmaps/radix-sort.ts:
// three passes of 11 bits (2048 counters per histogram, inside L1), one
// counting pass for all three, and any pass whose digit is the same for
// every id skipped (dense ids below 2^22 need two passes). Stable.
#include "radix_sort.h"

#include <cstring>

namespace audiencehub {
namespace {

constexpr uint32_t BITS = 11;
constexpr uint32_t RADIX = 1u << BITS;
constexpr uint32_t MASK = RADIX - 1;
constexpr uint32_t PASSES = 3;

}  // namespace

void radixSort(uint32_t* data, uint32_t* scratch, size_t n) {
  if (n < 2) return;
  static thread_local uint32_t counts[PASSES][RADIX];
  std::memset(counts, 0, sizeof counts);
  bool sorted = true;
  uint32_t prev = 0;
  for (size_t i = 0; i < n; i++) {
    const uint32_t v = data[i];
    counts[0][v & MASK]++;
    counts[1][(v >> BITS) & MASK]++;
    counts[2][v >> (2 * BITS)]++;
    sorted &= v >= prev;
    prev = v;
  }
  if (sorted) return;
  uint32_t* src = data;
  uint32_t* dst = scratch;
  for (uint32_t pass = 0; pass < PASSES; pass++) {
    uint32_t* count = counts[pass];
    bool single = false;
    for (uint32_t b = 0; b < RADIX; b++) {
      if (count[b] != 0) {
        single = count[b] == n;
        break;
      }
    }
    if (single) continue;
    uint32_t sum = 0;
    for (uint32_t b = 0; b < RADIX; b++) {
      const uint32_t c = count[b];
      count[b] = sum;
      sum += c;
    }
    const uint32_t shift = pass * BITS;
    for (size_t i = 0; i < n; i++) {
      const uint32_t v = src[i];
      dst[count[(v >> shift) & MASK]++] = v;
    }
    uint32_t* t = src;
    src = dst;
    dst = t;
  }
  if (src != data) std::memcpy(data, src, n * sizeof(uint32_t));
}

size_t dedupeSorted(uint32_t* data, size_t n) {
  if (n < 2) return n;
  size_t w = 1;
  uint32_t last = data[0];
  size_t i = 1;
  // The common case first: a run of distinct ids needs no writes.
  while (i < n && data[i] != last) last = data[i++];
  w = i;
  for (; i < n; i++) {
    const uint32_t v = data[i];
    if (v != last) {
      data[w++] = v;
      last = v;
    }
  }
  return w;
}

}  // namespace audiencehub
