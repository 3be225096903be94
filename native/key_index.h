// The identity dictionary's hash index; see key_index.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <vector>

namespace audiencehub {

/** What a lookup writes for a key that is not in the table. */
constexpr uint32_t ABSENT = 0xffffffffu;

class KeyIndex {
 public:
  KeyIndex(uint32_t width, uint64_t expected);
  ~KeyIndex();
  KeyIndex(const KeyIndex&) = delete;
  KeyIndex& operator=(const KeyIndex&) = delete;

  /** Registers the next arena chunk (2^18 keys of `width` bytes); JavaScript owns its memory. */
  void addChunk(uint8_t* chunk);
  /** Keys held, which is also the id the next new key gets. */
  uint64_t size() const { return size_; }
  /** Bytes of the slots. */
  uint64_t slotBytes() const;

  /** Sizes every segment so that `keys` keys (spread as hashes spread them) fit without growing. */
  void reserve(uint64_t keys);
  /** Rebuilds the slots from the first `count` keys of the arena (a reload). */
  void reindex(uint32_t count);
  uint32_t lookupMany(const uint8_t* keys, uint32_t count, uint32_t* out);
  /**
   * Inserts keys [from, count) that are absent, writing every key's id to
   * out. Returns `count`, or the index of the first key that did not fit in
   * the registered chunks (the caller adds one and calls again from there).
   */
  uint32_t insertMissing(const uint8_t* keys, uint32_t count, uint32_t* out, uint32_t from);

 private:
  struct Slot {
    uint32_t hash;
    uint32_t stored;  // id + 1; 0 = empty
  };
  struct Segment {
    Slot* data = nullptr;
    uint64_t capacity = 0;
    uint64_t count = 0;
    uint64_t limit = 0;
    size_t bytes = 0;
    bool mapped = false;
  };

  const uint8_t* keyAt(uint32_t id) const;
  bool same(uint32_t id, const uint8_t* key) const;
  Slot* homeOf(uint32_t h) const;
  void prefetchCandidate(uint32_t h) const;
  void learn(uint32_t count, uint32_t found, uint32_t runs);
  void grow(Segment& seg, uint64_t capacity);
  static void place(Segment& seg, uint32_t h, uint32_t stored);
  static void release(Segment& seg);

  uint32_t width_;
  uint64_t size_ = 0;
  std::vector<Segment> segments_;
  std::vector<uint8_t*> chunks_;
  std::vector<uint32_t> hashes_;
  std::vector<Slot> scratch_;
  /** Whether probes prefetch the arena key of their candidate slot (learn()). */
  bool candidates_ = true;
};

}  // namespace audiencehub
