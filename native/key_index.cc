// The hash index of the identity dictionary: fixed-width key -> dense key id,
// the native half of src/infra/identities/table.ts.
//
// The keys themselves stay in the JavaScript arena (chunks of 2^18 keys, id
// order, what a commit writes to the dictionary file); this index only holds
// raw pointers to those chunks, which JavaScript keeps alive for as long as
// the table. V8 never moves an ArrayBuffer's backing store, so the pointers
// stay valid.
//
// - 64 segments, chosen by the top 6 bits of a key's 32-bit hash; in each,
//   open addressing with linear probing over [hash, id + 1] pairs (0 =
//   empty), between 35% and 70% full. The stored hash makes a comparison
//   with the arena key rare except on the real match.
// - A segment doubles on its own when it reaches 70%: the table never stops
//   for one big rehash, and each rehash works on 1/64 of the slots. The slot
//   of a hash within a segment is a multiply-shift of its low bits, monotone
//   in the hash, so a rehash walks the old slots in order and fills the new
//   ones nearly sequentially. Doubling rather than 1.5x: a bulk load of 30 M
//   new keys spent 0.6 s less CPU re-placing entries, for 35-70% load
//   instead of 47-70%.
// - Memory touched for the first time is the dear part of growing on a VM
//   (the kernel zeroes every page, and the host may have to back it), so a
//   segment of 1 MiB or more lives in its own mapping and grows with mremap:
//   its pages are kept, only the added ones are new, and the entries are
//   re-placed from a copy; the added pages are faulted in with one
//   MADV_POPULATE_WRITE. Transparent huge pages were measured and left
//   out: on the CI VMs a fresh 2 MiB page costs far more to fault in than
//   the TLB misses it saves (phones bench: system time 2.0-2.5 s with them,
//   1.1-1.3 s without).
// - Batches are probed with software prefetch in two stages: the home slot of
//   key i + DISTANCE is prefetched, and the arena key of the first slot whose
//   hash matches key i + DISTANCE2 (the slot line is in cache by then), so
//   the two dependent cache misses of a lookup overlap with other keys' work.
#include "key_index.h"

#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace audiencehub {
namespace {

constexpr uint32_t CHUNK_SHIFT = 18;
constexpr uint32_t CHUNK_MASK = (1u << CHUNK_SHIFT) - 1;
constexpr double MAX_LOAD = 0.7;
constexpr double GROWTH = 2;
constexpr uint32_t SEGMENT_BITS = 6;
constexpr uint32_t SEGMENTS = 1u << SEGMENT_BITS;
constexpr uint32_t LOW_BITS = 32 - SEGMENT_BITS;
constexpr uint32_t LOW_MASK = (1u << LOW_BITS) - 1;
constexpr uint64_t MIN_SEGMENT = 16;
/** Key ids stop below ABSENT; id + 1 must fit a uint32 slot. */
constexpr uint64_t MAX_KEYS = 0xfffffffeull;
// Keys ahead of the probe whose home slot is prefetched, and whose candidate key is.
constexpr uint32_t DISTANCE = 32;
constexpr uint32_t DISTANCE2 = 16;
/** Segments from this size on get a mapping of their own (mremap growth). */
constexpr size_t MAPPED = 1u << 20;
constexpr size_t PAGE = 4096;
#ifdef MADV_POPULATE_WRITE
constexpr int MADV_POPULATE_WRITE_ = MADV_POPULATE_WRITE;
#else
constexpr int MADV_POPULATE_WRITE_ = 23;
#endif

inline uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

inline uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

// Every byte of the key takes part: digests are uniform already, but opaque
// keys (salted hashes, CAID) may share long prefixes.
inline uint32_t hashKey(const uint8_t* k, uint32_t width) {
  uint64_t x = load64(k) * 0x9e3779b97f4a7c15ull;
  x ^= load64(k + 8) + 0x632be59bd9b4e019ull + (x << 6) + (x >> 2);
  if (width == 32) {
    x = mix(x) ^ load64(k + 16);
    x ^= load64(k + 24) * 0xc2b2ae3d27d4eb4full;
  }
  return static_cast<uint32_t>(mix(x) >> 32);
}

inline uint64_t capacityFor(uint64_t keys) {
  return std::max<uint64_t>(MIN_SEGMENT, static_cast<uint64_t>(std::ceil(keys / MAX_LOAD)) + 1);
}

/** Keys one segment should have room for when the table holds `keys`: the mean plus six standard deviations. */
inline uint64_t segmentShare(uint64_t keys) {
  const double mean = static_cast<double>(keys) / SEGMENTS;
  return static_cast<uint64_t>(std::ceil(mean + 6 * std::sqrt(mean) + 8));
}

inline uint64_t positionOf(uint32_t h, uint64_t capacity) { return (static_cast<uint64_t>(h & LOW_MASK) * capacity) >> LOW_BITS; }

// An asm statement, not __builtin_prefetch: GCC drops a builtin prefetch
// when the loop that computes its address has no other effect (stage 2).
inline void prefetch(const void* p) { asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p))); }

}  // namespace

KeyIndex::KeyIndex(uint32_t width, uint64_t expected) : width_(width), segments_(SEGMENTS) {
  const uint64_t cap = capacityFor(expected == 0 ? 0 : segmentShare(expected));
  for (Segment& seg : segments_) grow(seg, cap);
}

KeyIndex::~KeyIndex() {
  for (Segment& seg : segments_) release(seg);
}

void KeyIndex::release(Segment& seg) {
  if (seg.data == nullptr) return;
  if (seg.mapped) munmap(seg.data, seg.bytes);
  else std::free(seg.data);
  seg.data = nullptr;
}

uint64_t KeyIndex::slotBytes() const {
  uint64_t n = 0;
  for (const Segment& seg : segments_) n += seg.bytes;
  return n;
}

void KeyIndex::addChunk(uint8_t* chunk) { chunks_.push_back(chunk); }

inline const uint8_t* KeyIndex::keyAt(uint32_t id) const {
  return chunks_[id >> CHUNK_SHIFT] + static_cast<size_t>(id & CHUNK_MASK) * width_;
}

inline KeyIndex::Slot* KeyIndex::homeOf(uint32_t h) const {
  const Segment& seg = segments_[h >> LOW_BITS];
  return seg.data + positionOf(h, seg.capacity);
}

inline bool KeyIndex::same(uint32_t id, const uint8_t* key) const {
  const uint8_t* a = keyAt(id);
  if (width_ == 16) return load64(a) == load64(key) && load64(a + 8) == load64(key + 8);
  return std::memcmp(a, key, 32) == 0;
}

inline void KeyIndex::place(Segment& seg, uint32_t h, uint32_t stored) {
  uint64_t j = positionOf(h, seg.capacity);
  while (seg.data[j].stored != 0)
    if (++j == seg.capacity) j = 0;
  seg.data[j].hash = h;
  seg.data[j].stored = stored;
  seg.count++;
}

// Gives the segment `capacity` slots (at least) and re-places its entries.
void KeyIndex::grow(Segment& seg, uint64_t capacity) {
  const size_t want = capacity * sizeof(Slot);
  Slot* old = seg.data;
  const uint64_t oldCapacity = seg.capacity;
  Segment next;
  if (want >= MAPPED) {
    const size_t bytes = (want + PAGE - 1) & ~(PAGE - 1);
    void* p;
    size_t kept = 0;
    if (seg.mapped) {
      // Keep the pages: copy the entries out, grow the mapping, clear what was there.
      scratch_.assign(old, old + oldCapacity);
      old = scratch_.data();
      p = mremap(seg.data, seg.bytes, bytes, MREMAP_MAYMOVE);
      if (p == MAP_FAILED) throw std::bad_alloc();
      std::memset(p, 0, seg.bytes);
      kept = seg.bytes;
      seg.data = nullptr;
    } else {
      p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) throw std::bad_alloc();
    }
    // Fault the new pages in one call rather than one trap per page while
    // placing (a no-op before Linux 5.14).
    madvise(static_cast<uint8_t*>(p) + kept, bytes - kept, MADV_POPULATE_WRITE_);
    next.data = static_cast<Slot*>(p);
    next.bytes = bytes;
    next.capacity = bytes / sizeof(Slot);
    next.mapped = true;
  } else {
    next.data = static_cast<Slot*>(std::calloc(capacity, sizeof(Slot)));
    if (next.data == nullptr) throw std::bad_alloc();
    next.bytes = want;
    next.capacity = capacity;
  }
  next.limit = static_cast<uint64_t>(std::floor(next.capacity * MAX_LOAD));
  for (uint64_t i = 0; i < oldCapacity; i++)
    if (old[i].stored != 0) place(next, old[i].hash, old[i].stored);
  release(seg);
  seg = next;
}

void KeyIndex::reserve(uint64_t keys) {
  const uint64_t cap = capacityFor(segmentShare(keys));
  for (Segment& seg : segments_)
    if (seg.capacity < cap && seg.limit < segmentShare(keys)) grow(seg, cap);
}

void KeyIndex::reindex(uint32_t count) {
  // Pass 1 counts the keys of every segment, so each is sized once.
  std::vector<uint64_t> per(SEGMENTS, 0);
  for (uint32_t id = 0; id < count; id++) per[hashKey(keyAt(id), width_) >> LOW_BITS]++;
  for (uint32_t s = 0; s < SEGMENTS; s++) {
    Segment& seg = segments_[s];
    release(seg);
    seg = Segment();
    grow(seg, capacityFor(per[s]));
  }
  // Pass 2 places them, the home slot of key id + DISTANCE prefetched.
  uint32_t ring[DISTANCE];
  for (uint32_t id = 0; id < std::min(count, DISTANCE); id++) {
    ring[id] = hashKey(keyAt(id), width_);
    prefetch(homeOf(ring[id]));
  }
  for (uint32_t id = 0; id < count; id++) {
    const uint32_t h = ring[id % DISTANCE];
    if (id + DISTANCE < count) {
      const uint32_t ahead = hashKey(keyAt(id + DISTANCE), width_);
      ring[id % DISTANCE] = ahead;
      prefetch(homeOf(ahead));
    }
    place(segments_[h >> LOW_BITS], h, id + 1);
  }
  size_ = count;
}

// Stage 2 of the pipeline: the slot line of hash h is (nearly) in cache;
// prefetch the arena key of the first occupied slot with the same hash.
inline void KeyIndex::prefetchCandidate(uint32_t h) const {
  const Segment& seg = segments_[h >> LOW_BITS];
  uint64_t j = positionOf(h, seg.capacity);
  for (int step = 0; step < 4; step++) {
    const uint32_t stored = seg.data[j].stored;
    if (stored == 0) return;
    if (seg.data[j].hash == h) {
      prefetch(keyAt(stored - 1));
      return;
    }
    if (++j == seg.capacity) j = 0;
  }
}

uint32_t KeyIndex::lookupMany(const uint8_t* keys, uint32_t count, uint32_t* out) {
  std::vector<uint32_t>& hs = hashes_;
  if (hs.size() < count) hs.resize(count);
  const uint32_t w = width_;
  for (uint32_t i = 0; i < count; i++) hs[i] = hashKey(keys + static_cast<size_t>(i) * w, w);
  for (uint32_t i = 0; i < std::min(count, DISTANCE); i++) prefetch(homeOf(hs[i]));
  uint32_t found = 0;
  uint32_t runs = 0;
  uint32_t lastId = ABSENT - 1;
  const bool candidates = candidates_;
  for (uint32_t i = 0; i < count; i++) {
    if (i + DISTANCE < count) prefetch(homeOf(hs[i + DISTANCE]));
    if (candidates && i + DISTANCE2 < count) prefetchCandidate(hs[i + DISTANCE2]);
    const uint32_t h = hs[i];
    const uint8_t* key = keys + static_cast<size_t>(i) * w;
    const Segment& seg = segments_[h >> LOW_BITS];
    uint64_t j = positionOf(h, seg.capacity);
    uint32_t id = ABSENT;
    for (;;) {
      const Slot& slot = seg.data[j];
      const uint32_t stored = slot.stored;
      if (stored == 0) break;
      if (slot.hash == h && same(stored - 1, key)) {
        id = stored - 1;
        found++;
        runs += id == lastId + 1;
        lastId = id;
        break;
      }
      if (++j == seg.capacity) j = 0;
    }
    out[i] = id;
  }
  learn(count, found, runs);
  return found;
}

uint32_t KeyIndex::insertMissing(const uint8_t* keys, uint32_t count, uint32_t* out, uint32_t from) {
  std::vector<uint32_t>& hs = hashes_;
  if (hs.size() < count) hs.resize(count);
  const uint32_t w = width_;
  for (uint32_t i = from; i < count; i++) hs[i] = hashKey(keys + static_cast<size_t>(i) * w, w);
  for (uint32_t i = from; i < std::min(count, from + DISTANCE); i++) prefetch(homeOf(hs[i]));
  const uint64_t room = std::min<uint64_t>(static_cast<uint64_t>(chunks_.size()) << CHUNK_SHIFT, MAX_KEYS);
  uint32_t found = 0;
  uint32_t runs = 0;
  uint32_t lastId = ABSENT - 1;
  const bool candidates = candidates_;
  for (uint32_t i = from; i < count; i++) {
    if (i + DISTANCE < count) prefetch(homeOf(hs[i + DISTANCE]));
    if (candidates && i + DISTANCE2 < count) prefetchCandidate(hs[i + DISTANCE2]);
    const uint32_t h = hs[i];
    const uint8_t* key = keys + static_cast<size_t>(i) * w;
    Segment& seg = segments_[h >> LOW_BITS];
    uint64_t j = positionOf(h, seg.capacity);
    for (;;) {
      Slot& slot = seg.data[j];
      const uint32_t stored = slot.stored;
      if (stored == 0) {
        if (seg.count >= seg.limit) {
          grow(seg, std::max(capacityFor(seg.count + 1), static_cast<uint64_t>(std::ceil(seg.capacity * GROWTH))));
          j = positionOf(h, seg.capacity);
          continue;
        }
        if (size_ >= room) {
          if (size_ >= MAX_KEYS) throw std::range_error("the identity table holds 4294967294 keys, the most a uint32 id allows");
          // No room left in the arena: JavaScript adds a chunk and calls again from here.
          learn(i - from, found, runs);
          return i;
        }
        const uint32_t id = static_cast<uint32_t>(size_);
        std::memcpy(chunks_[id >> CHUNK_SHIFT] + static_cast<size_t>(id & CHUNK_MASK) * w, key, w);
        slot.hash = h;
        slot.stored = id + 1;
        seg.count++;
        size_++;
        out[i] = id;
        break;
      }
      if (slot.hash == h && same(stored - 1, key)) {
        out[i] = stored - 1;
        found++;
        runs += stored - 1 == lastId + 1;
        lastId = stored - 1;
        break;
      }
      if (++j == seg.capacity) j = 0;
    }
  }
  learn(count - from, found, runs);
  return count;
}

// Stage 2 pays when most keys are found and their ids are scattered (a file
// of known ids in another order than they were added). New keys have no
// arena key to fetch, and ids found in id order are read in order, which the
// hardware prefetcher covers; there the extra loads only take room from the
// slot prefetches. Decided per batch from the one before.
void KeyIndex::learn(uint32_t count, uint32_t found, uint32_t runs) {
  if (count >= 1024) candidates_ = found * 2 > count && runs * 2 < found;
}

}  // namespace audiencehub
