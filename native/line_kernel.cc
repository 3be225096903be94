// Line kernels: the scanner hands a kernel whole regions of a file (many
// lines, already known to be free of NUL and valid UTF-8), and the kernel
// cuts, trims and decides every line it can, writing the line's keys
// straight into its key streams, with no JavaScript per line.
//
// A kernel only ever takes a line whose outcome it can compute exactly as
// the registry would (normalize.ts / phone.ts): exactly the hex length of a
// hashed type, or a mainland mobile number in one of the accepted spellings. Any
// other line (a refusal, an odd character, a line longer than the scan's
// limit) is left where it is, and the scanner's per-line path gives it to
// the registry, which decides it and words the reason. So a kernel never
// refuses anything, and the report is the same with or without it.
//
// Phone digests are deferred to once per batch (phone_digests.cc): three
// digests a line are most of the work of a raw-phone file. finishAsync()
// computes them on a helper thread into the kernel's other set of buffers
// while the caller resolves the previous batch; finish() on two threads.
#include "line_kernel.h"

#include "cpu.h"
#include "phone_digests.h"

#include <immintrin.h>

#include <cstring>
#include <stdexcept>

namespace audiencehub {
namespace {

constexpr uint8_t LF = 0x0a;
constexpr uint8_t CR = 0x0d;
constexpr uint8_t BAD = 0x80;
/** Below this many lines a batch's digests are not worth a second thread. */
constexpr uint32_t PARALLEL_MIN = 4096;

struct HexTable {
  uint8_t v[256];
  HexTable() {
    std::memset(v, BAD, sizeof v);
    for (int c = 0; c < 10; c++) v['0' + c] = static_cast<uint8_t>(c);
    for (int c = 0; c < 6; c++) v['a' + c] = v['A' + c] = static_cast<uint8_t>(10 + c);
  }
};
const HexTable HEX;

/** Decodes n hex digits to n / 2 bytes; false when one is not a hex digit (bytes written are garbage then). */
inline bool decodeHexScalar(const uint8_t* s, uint32_t n, uint8_t* out) {
  uint8_t bad = 0;
  for (uint32_t i = 0; i < n; i += 2) {
    const uint8_t a = HEX.v[s[i]];
    const uint8_t b = HEX.v[s[i + 1]];
    bad |= a | b;
    out[i >> 1] = static_cast<uint8_t>((a << 4) | (b & 0x0f));
  }
  return (bad & BAD) == 0;
}

/** 32 hex digits at a time in an AVX2 register: validate, map to nibbles, pair them up. */
__attribute__((target("avx2"))) bool decodeHexAvx2(const uint8_t* s, uint32_t n, uint8_t* out) {
  const __m256i zero = _mm256_set1_epi8('0' - 1), nine = _mm256_set1_epi8('9' + 1);
  const __m256i a = _mm256_set1_epi8('a' - 1), f = _mm256_set1_epi8('f' + 1);
  const __m256i caseBit = _mm256_set1_epi8(0x20);
  const __m256i digitBase = _mm256_set1_epi8('0'), letterBase = _mm256_set1_epi8('a' - 10);
  const __m256i weights = _mm256_set1_epi16(0x0110);
  for (uint32_t i = 0; i < n; i += 32) {
    const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i));
    const __m256i lower = _mm256_or_si256(c, caseBit);
    const __m256i digit = _mm256_and_si256(_mm256_cmpgt_epi8(c, zero), _mm256_cmpgt_epi8(nine, c));
    const __m256i letter = _mm256_and_si256(_mm256_cmpgt_epi8(lower, a), _mm256_cmpgt_epi8(f, lower));
    if (static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_or_si256(digit, letter))) != 0xffffffffu) return false;
    const __m256i nibbles = _mm256_blendv_epi8(_mm256_sub_epi8(lower, letterBase), _mm256_sub_epi8(c, digitBase), digit);
    // Each pair (high, low) -> high * 16 + low as 16-bit words, then words -> bytes.
    const __m256i words = _mm256_maddubs_epi16(nibbles, weights);
    const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi16(words, words), 0x08);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i / 2), _mm256_castsi256_si128(packed));
  }
  return true;
}

inline bool decodeHex(const uint8_t* s, uint32_t n, uint8_t* out) {
  if (CPU.avx2 && n % 32 == 0) return decodeHexAvx2(s, n, out);
  return decodeHexScalar(s, n, out);
}

inline bool isBlank(uint8_t c) { return c == ' ' || c == '\t'; }

inline bool isDigit(uint8_t c) { return c >= '0' && c <= '9'; }

/**
 * phone.ts normalizeMainlandPhone for a line it accepts: separators (space,
 * dash, brackets) dropped, a + only before the first digit, then +86 / 0086
 * (15 digits) / 86 (13 digits) removed, leaving 11 digits that start 13-19.
 * False for anything else, which the registry then refuses with its reason.
 */
bool mainlandPhone(const uint8_t* s, const uint8_t* e, uint8_t* out) {
  uint8_t d[16];
  uint32_t n = 0;
  bool plus = false;
  for (const uint8_t* p = s; p < e; p++) {
    const uint8_t c = *p;
    if (isDigit(c)) {
      if (n == sizeof d) return false;  // more than 15 digits can never be accepted
      d[n++] = c;
    } else if (c == '+' && !plus && n == 0) {
      plus = true;
    } else if (c != ' ' && c != '-' && c != '(' && c != ')') {
      return false;
    }
  }
  const uint8_t* x = d;
  if (plus) {
    if (n < 2 || d[0] != '8' || d[1] != '6') return false;
    x += 2;
    n -= 2;
  } else if (n == 15 && d[0] == '0' && d[1] == '0' && d[2] == '8' && d[3] == '6') {
    x += 4;
    n -= 4;
  } else if (n == 13 && d[0] == '8' && d[1] == '6') {
    x += 2;
    n -= 2;
  }
  if (n != PHONE_DIGITS || x[0] != '1' || x[1] < '3' || x[1] > '9') return false;
  std::memcpy(out, x, PHONE_DIGITS);
  return true;
}

}  // namespace

LineKernel::LineKernel(KernelKind kind, uint32_t hexLength, KernelOutput out) : kind_(kind), hexLength_(hexLength), out_(std::move(out)) {
  // Streams come in two sets for a phone kernel (finishAsync), one for hex.
  const uint32_t perSet = kind_ == KernelKind::Phone ? 3 : 1;
  if (out_.streams.size() != perSet * (kind_ == KernelKind::Phone ? 2 : 1)) throw std::invalid_argument("line kernel: wrong number of key streams");
  streamsPerSet_ = perSet;
  if (kind_ == KernelKind::Phone)
    for (auto& d : digits_) d.resize(static_cast<size_t>(out_.capacity) * PHONE_DIGITS);
}

LineKernel::~LineKernel() { wait(); }

inline bool LineKernel::take(const uint8_t* s, const uint8_t* e, uint32_t j) {
  if (kind_ == KernelKind::Hex) {
    return static_cast<uint32_t>(e - s) == hexLength_ && decodeHex(s, hexLength_, out_.streams[0] + static_cast<size_t>(j) * (hexLength_ >> 1));
  }
  return mainlandPhone(s, e, digits_[set_].data() + static_cast<size_t>(j) * PHONE_DIGITS);
}

void LineKernel::run(const uint8_t* buf, size_t end, double* state) {
  size_t p = static_cast<size_t>(state[POS]);
  double line = state[LINE];
  uint32_t count = static_cast<uint32_t>(state[BATCH_COUNT]);
  uint32_t j = static_cast<uint32_t>(state[KERNEL_COUNT]);
  double blanks = state[BLANKS];
  const size_t maxLine = static_cast<size_t>(state[MAX_LINE_BYTES]);
  const uint32_t capacity = out_.capacity;
  const bool hex = kind_ == KernelKind::Hex;
  const uint32_t hexLength = hexLength_;
  const uint32_t width = hexLength_ >> 1;
  while (p < end && count < capacity) {
    const uint8_t* s = buf + p;
    size_t nl;
    size_t lineEnd;
    bool taken = false;
    // The common shape first: exactly the hex digits, then LF.
    if (hex && p + hexLength < end && buf[p + hexLength] == LF && hexLength <= maxLine) {
      taken = decodeHex(s, hexLength, out_.streams[0] + static_cast<size_t>(j) * width);
      nl = p + hexLength;
      lineEnd = nl;
    }
    if (!taken) {
      const void* f = std::memchr(s, LF, end - p);
      if (f == nullptr) break;  // cannot happen in a region of whole lines
      nl = static_cast<const uint8_t*>(f) - buf;
      lineEnd = nl;
      if (lineEnd > p && buf[lineEnd - 1] == CR) lineEnd--;
      if (lineEnd - p > maxLine) break;  // refused as too long by the scanner
      const uint8_t* a = s;
      const uint8_t* b = buf + lineEnd;
      while (a < b && isBlank(*a)) a++;
      while (b > a && isBlank(b[-1])) b--;
      if (a == b) {
        blanks++;
        line++;
        p = nl + 1;
        continue;
      }
      if (!take(a, b, j)) break;
      s = a;
      lineEnd = b - buf;
    }
    out_.lineNumbers[count] = line;
    out_.starts[count] = static_cast<int32_t>(s - buf);
    out_.ends[count] = static_cast<int32_t>(lineEnd);
    out_.kinds[count] = 1;
    count++;
    j++;
    line++;
    p = nl + 1;
  }
  state[POS] = static_cast<double>(p);
  state[LINE] = line;
  state[BATCH_COUNT] = count;
  state[KERNEL_COUNT] = j;
  state[BLANKS] = blanks;
}

bool LineKernel::one(const uint8_t* s, const uint8_t* e, double* state) {
  const uint32_t j = static_cast<uint32_t>(state[KERNEL_COUNT]);
  if (!take(s, e, j)) return false;
  state[KERNEL_COUNT] = j + 1;
  return true;
}

void LineKernel::finish(uint32_t count) {
  if (kind_ != KernelKind::Phone || count == 0) return;
  const uint8_t* d = digits_[set_].data();
  uint8_t* md5 = stream(set_, 0);
  uint8_t* sha = stream(set_, 1);
  uint8_t* e164 = stream(set_, 2);
  if (count < PARALLEL_MIN) {
    phoneDigests(d, 0, count, md5, sha, e164);
    return;
  }
  const uint32_t half = count / 2;
  std::thread helper(phoneDigests, d, half, count, md5, sha, e164);
  phoneDigests(d, 0, half, md5, sha, e164);
  helper.join();
}

void LineKernel::finishAsync(uint32_t count) {
  wait();
  if (kind_ != KernelKind::Phone) return;
  if (count > 0) helper_ = std::thread(phoneDigests, digits_[set_].data(), 0, count, stream(set_, 0), stream(set_, 1), stream(set_, 2));
  set_ ^= 1;
}

void LineKernel::wait() {
  if (helper_.joinable()) helper_.join();
}

}  // namespace audiencehub
