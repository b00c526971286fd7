// Which SIMD architecture the simd layer targets. Included only when QKERN_SIMD is 1:
// with QKERN_SIMD=0 nothing under qkern/simd/ (and so nothing of xsimd) is seen.
#pragma once

#include "qkern/core/config.hpp"

#if !QKERN_SIMD
#error "qkern/simd/ is compiled out (QKERN_SIMD=0); include qkern/qkern.hpp instead"
#endif

#include <xsimd/xsimd.hpp>

namespace qkern {
namespace simd {

// The architecture kernels are compiled for: the best one the compiler flags enable.
using default_arch = xsimd::default_arch;

inline constexpr const char* arch_name() noexcept { return default_arch::name(); }

}  // namespace simd
}  // namespace qkern
