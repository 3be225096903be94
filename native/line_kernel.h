// Line kernels: the per-line work of the common ingest shapes, done natively
// over whole regions of a file; see line_kernel.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

namespace audiencehub {

enum class KernelKind : uint32_t {
  // A hashed id type: `hexLength` hex digits (either case) -> hexLength / 2 bytes.
  Hex = 0,
  // A raw mainland mobile number -> MD5 and SHA-256 of its 11 digits, SHA-256 of "+86" and them.
  Phone = 1,
};

/** Where a kernel writes: the scanner's batch arrays and the kernel's own key streams. */
struct KernelOutput {
  double* lineNumbers = nullptr;
  int32_t* starts = nullptr;
  int32_t* ends = nullptr;
  uint8_t* kinds = nullptr;
  uint32_t capacity = 0;
  std::vector<uint8_t*> streams;
};

/** The state shared with JavaScript through a Float64Array (see kernel.ts). */
enum StateField : int {
  POS = 0,
  LINE = 1,
  BATCH_COUNT = 2,
  KERNEL_COUNT = 3,
  BLANKS = 4,
  MAX_LINE_BYTES = 5,
  STATE_FIELDS = 8,
};

class LineKernel {
 public:
  LineKernel(KernelKind kind, uint32_t hexLength, KernelOutput out);

  /**
   * Consumes whole lines of buf from state[POS] up to `end` (a region of
   * whole lines, free of NUL and valid UTF-8, each ending in LF) until the
   * region ends, the batch is full, or a line this kernel does not decide
   * (left for the scanner's own per-line path).
   */
  void run(const uint8_t* buf, size_t end, double* state);
  /** One line, already cut, CR-stripped and trimmed; true when taken (written as kernel line state[KERNEL_COUNT]). */
  bool one(const uint8_t* s, const uint8_t* e, double* state);
  ~LineKernel();
  /** Computes what take() deferred (the digests of a phone batch) for kernel lines [0, count), on two threads. */
  void finish(uint32_t count);
  /**
   * Phone: starts the digests of the current batch on a helper thread and
   * moves the kernel to its other set of buffers, so the next batch can be
   * scanned (and the previous one resolved) meanwhile. wait() joins it.
   */
  void finishAsync(uint32_t count);
  void wait();
  /** The set of buffers (0 or 1) that run() and one() write. */
  uint32_t current() const { return set_; }

 private:
  bool take(const uint8_t* s, const uint8_t* e, uint32_t j);
  uint8_t* stream(uint32_t set, uint32_t i) const { return out_.streams[set * streamsPerSet_ + i]; }

  KernelKind kind_;
  uint32_t hexLength_;
  KernelOutput out_;
  uint32_t streamsPerSet_;
  uint32_t set_ = 0;
  // Phone: the 11 normalized digits of each kernel line, per set, hashed in finish().
  std::vector<uint8_t> digits_[2];
  std::thread helper_;
};

}  // namespace audiencehub
