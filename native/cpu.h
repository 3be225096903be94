// What the CPU offers, checked once at load: the kernels pick their SIMD
// paths by it (line_kernel.cc, phone_digests.cc).
#pragma once

namespace audiencehub {

struct CpuFeatures {
  bool avx2;
  /** The SHA extensions, with the SSE4.1 their code also needs. */
  bool sha;
  CpuFeatures() {
    __builtin_cpu_init();
    avx2 = __builtin_cpu_supports("avx2");
    sha = __builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1");
  }
};

inline const CpuFeatures CPU;

}  // namespace audiencehub
