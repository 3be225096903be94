// The three digests of a normalized mainland mobile number (11 ASCII
// digits): MD5(digits), SHA-256(digits) and SHA-256("+86" digits), for a
// whole batch of numbers at once.
//
// Every message is one short, fixed-length block, so per-call overhead
// dominates the general-purpose APIs (OpenSSL's MD5_Init/Update/Final takes
// ~100 ns here, the compression itself far less). With the CPU's help:
// - MD5 runs 8 numbers at a time in the lanes of AVX2 registers; of the 16
//   message words only 3 differ between numbers (the rest are padding and
//   the length), so most of the additions fold into constants.
// - SHA-256 uses the SHA extensions, the two messages of a number
//   interleaved: their round instructions are independent, so one hides the
//   other's latency.
// Without AVX2 or SHA (checked once at run time) the OpenSSL inside Node
// computes them. The kernel tests compare the results with node:crypto.
#include "phone_digests.h"

#include "cpu.h"

#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <immintrin.h>
#include <openssl/md5.h>
#include <openssl/sha.h>

#include <cstring>

namespace audiencehub {
namespace {

void md5OpenSsl(const uint8_t* d, uint8_t* out) {
  MD5_CTX m;
  MD5_Init(&m);
  MD5_Update(&m, d, PHONE_DIGITS);
  MD5_Final(out, &m);
}

void sha256OpenSsl(const uint8_t* msg, size_t n, uint8_t* out) {
  SHA256_CTX c;
  SHA256_Init(&c);
  SHA256_Update(&c, msg, n);
  SHA256_Final(out, &c);
}

// ---- MD5, 8 lanes (RFC 1321) ----

constexpr uint32_t MD5_K[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1,
    0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453,
    0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942,
    0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05,
    0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d,
    0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};
constexpr int MD5_S[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                           4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};

inline uint32_t load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

__attribute__((target("avx2"))) inline __m256i rotl(__m256i x, int s) {
  return _mm256_or_si256(_mm256_slli_epi32(x, s), _mm256_srli_epi32(x, 32 - s));
}

/** MD5 of 8 numbers: digits of number i at d + 11 * i, digest to out + 16 * i. */
__attribute__((target("avx2"))) void md5x8(const uint8_t* d, uint8_t* out) {
  alignas(32) uint32_t w0[8], w1[8], w2[8];
  for (int i = 0; i < 8; i++) {
    const uint8_t* p = d + PHONE_DIGITS * i;
    w0[i] = load32(p);
    w1[i] = load32(p + 4);
    w2[i] = static_cast<uint32_t>(p[8]) | static_cast<uint32_t>(p[9]) << 8 | static_cast<uint32_t>(p[10]) << 16 | 0x80u << 24;
  }
  __m256i m[16];
  const __m256i zero = _mm256_setzero_si256();
  for (int i = 3; i < 16; i++) m[i] = zero;
  m[0] = _mm256_load_si256(reinterpret_cast<const __m256i*>(w0));
  m[1] = _mm256_load_si256(reinterpret_cast<const __m256i*>(w1));
  m[2] = _mm256_load_si256(reinterpret_cast<const __m256i*>(w2));
  m[14] = _mm256_set1_epi32(PHONE_DIGITS * 8);
  const __m256i ones = _mm256_set1_epi32(-1);
  __m256i a = _mm256_set1_epi32(0x67452301), b = _mm256_set1_epi32(static_cast<int>(0xefcdab89)),
          c = _mm256_set1_epi32(static_cast<int>(0x98badcfe)), e = _mm256_set1_epi32(0x10325476);
  const __m256i a0 = a, b0 = b, c0 = c, e0 = e;
  for (int i = 0; i < 64; i++) {
    __m256i f;
    int g;
    if (i < 16) {
      f = _mm256_xor_si256(e, _mm256_and_si256(b, _mm256_xor_si256(c, e)));
      g = i;
    } else if (i < 32) {
      f = _mm256_xor_si256(c, _mm256_and_si256(e, _mm256_xor_si256(b, c)));
      g = (5 * i + 1) & 15;
    } else if (i < 48) {
      f = _mm256_xor_si256(_mm256_xor_si256(b, c), e);
      g = (3 * i + 5) & 15;
    } else {
      f = _mm256_xor_si256(c, _mm256_or_si256(b, _mm256_xor_si256(e, ones)));
      g = (7 * i) & 15;
    }
    const __m256i sum = _mm256_add_epi32(_mm256_add_epi32(a, f), _mm256_add_epi32(m[g], _mm256_set1_epi32(static_cast<int>(MD5_K[i]))));
    a = e;
    e = c;
    c = b;
    b = _mm256_add_epi32(b, rotl(sum, MD5_S[i]));
  }
  alignas(32) uint32_t r[4][8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(r[0]), _mm256_add_epi32(a, a0));
  _mm256_store_si256(reinterpret_cast<__m256i*>(r[1]), _mm256_add_epi32(b, b0));
  _mm256_store_si256(reinterpret_cast<__m256i*>(r[2]), _mm256_add_epi32(c, c0));
  _mm256_store_si256(reinterpret_cast<__m256i*>(r[3]), _mm256_add_epi32(e, e0));
  for (int i = 0; i < 8; i++)
    for (int k = 0; k < 4; k++) std::memcpy(out + 16 * i + 4 * k, &r[k][i], 4);
}

// ---- SHA-256, SHA extensions, two one-block messages at once ----

alignas(16) constexpr uint32_t SHA_K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
    0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
    0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
    0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
    0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
    0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
constexpr uint32_t SHA_H0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

/** The padded single block of an n-byte message (n <= 55). */
inline void padBlock(const uint8_t* msg, size_t n, uint8_t block[64]) {
  std::memset(block, 0, 64);
  std::memcpy(block, msg, n);
  block[n] = 0x80;
  const uint64_t bits = static_cast<uint64_t>(n) * 8;
  for (int i = 0; i < 8; i++) block[63 - i] = static_cast<uint8_t>(bits >> (8 * i));
}

__attribute__((target("sha,sse4.1"))) void sha256x2(const uint8_t* blockA, const uint8_t* blockB, uint8_t* outA, uint8_t* outB) {
  const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
  __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(SHA_H0));
  __m128i s1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(SHA_H0 + 4));
  t = _mm_shuffle_epi32(t, 0xB1);                    // CDAB
  s1 = _mm_shuffle_epi32(s1, 0x1B);                  // EFGH
  const __m128i init0 = _mm_alignr_epi8(t, s1, 8);   // ABEF
  const __m128i init1 = _mm_blend_epi16(s1, t, 0xF0);  // CDGH
  __m128i a0 = init0, a1 = init1, b0 = init0, b1 = init1;
  __m128i ma[4], mb[4];
  for (int i = 0; i < 4; i++) {
    ma[i] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blockA + 16 * i)), bswap);
    mb[i] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blockB + 16 * i)), bswap);
  }
  for (int g = 0; g < 16; g++) {
    const __m128i k = _mm_load_si128(reinterpret_cast<const __m128i*>(SHA_K + 4 * g));
    __m128i xa = _mm_add_epi32(ma[g & 3], k);
    __m128i xb = _mm_add_epi32(mb[g & 3], k);
    a1 = _mm_sha256rnds2_epu32(a1, a0, xa);
    b1 = _mm_sha256rnds2_epu32(b1, b0, xb);
    if (g >= 3 && g <= 14) {
      // Words 4(g+1)..4(g+1)+3 of the schedule: finish them from the previous four.
      const int next = (g + 1) & 3, prev = (g + 3) & 3;
      ma[next] = _mm_sha256msg2_epu32(_mm_add_epi32(ma[next], _mm_alignr_epi8(ma[g & 3], ma[prev], 4)), ma[g & 3]);
      mb[next] = _mm_sha256msg2_epu32(_mm_add_epi32(mb[next], _mm_alignr_epi8(mb[g & 3], mb[prev], 4)), mb[g & 3]);
    }
    xa = _mm_shuffle_epi32(xa, 0x0E);
    xb = _mm_shuffle_epi32(xb, 0x0E);
    a0 = _mm_sha256rnds2_epu32(a0, a1, xa);
    b0 = _mm_sha256rnds2_epu32(b0, b1, xb);
    if (g >= 1 && g <= 12) {
      const int prev = (g + 3) & 3;
      ma[prev] = _mm_sha256msg1_epu32(ma[prev], ma[g & 3]);
      mb[prev] = _mm_sha256msg1_epu32(mb[prev], mb[g & 3]);
    }
  }
  a0 = _mm_add_epi32(a0, init0);
  a1 = _mm_add_epi32(a1, init1);
  b0 = _mm_add_epi32(b0, init0);
  b1 = _mm_add_epi32(b1, init1);
  // Back from ABEF / CDGH to A..H, each word big-endian (the byte swap of the message words).
  for (int which = 0; which < 2; which++) {
    const __m128i s0 = which == 0 ? a0 : b0;
    const __m128i s1v = which == 0 ? a1 : b1;
    uint8_t* out = which == 0 ? outA : outB;
    const __m128i feba = _mm_shuffle_epi32(s0, 0x1B);
    const __m128i dchg = _mm_shuffle_epi32(s1v, 0xB1);
    const __m128i dcba = _mm_blend_epi16(feba, dchg, 0xF0);
    const __m128i hgfe = _mm_alignr_epi8(dchg, feba, 8);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_shuffle_epi8(dcba, bswap));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16), _mm_shuffle_epi8(hgfe, bswap));
  }
}

}  // namespace

void phoneDigests(const uint8_t* digits, uint32_t from, uint32_t to, uint8_t* md5, uint8_t* sha, uint8_t* e164) {
  const bool avx2 = CPU.avx2;
  const bool shaNi = CPU.sha;
  uint32_t j = from;
  if (avx2)
    for (; j + 8 <= to; j += 8) md5x8(digits + static_cast<size_t>(j) * PHONE_DIGITS, md5 + static_cast<size_t>(j) * 16);
  for (; j < to; j++) md5OpenSsl(digits + static_cast<size_t>(j) * PHONE_DIGITS, md5 + static_cast<size_t>(j) * 16);
  uint8_t plus86[3 + PHONE_DIGITS] = {'+', '8', '6'};
  alignas(16) uint8_t blockA[64], blockB[64];
  for (j = from; j < to; j++) {
    const uint8_t* d = digits + static_cast<size_t>(j) * PHONE_DIGITS;
    std::memcpy(plus86 + 3, d, PHONE_DIGITS);
    if (shaNi) {
      padBlock(d, PHONE_DIGITS, blockA);
      padBlock(plus86, sizeof plus86, blockB);
      sha256x2(blockA, blockB, sha + static_cast<size_t>(j) * 32, e164 + static_cast<size_t>(j) * 32);
    } else {
      sha256OpenSsl(d, PHONE_DIGITS, sha + static_cast<size_t>(j) * 32);
      sha256OpenSsl(plus86, sizeof plus86, e164 + static_cast<size_t>(j) * 32);
    }
  }
}

}  // namespace audiencehub
