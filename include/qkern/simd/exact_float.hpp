// IEEE-exact float32 division and multiplication on xsimd::batch<float, A>: each lane is the
// correctly rounded quotient (product), bit-identical to the scalar `a / b` (`a * b`).
//
// xsimd 8.1's float division on NEON is a reciprocal estimate refined by two Newton steps, not
// the IEEE quotient (its generic NEON kernel serves aarch64 too), and armv7 NEON arithmetic
// flushes subnormals. So: x86 uses the native instructions through xsimd's operators (divps and
// mulps are IEEE operations), aarch64 the IEEE vdivq_f32 / vmulq_f32, and any other arch the
// scalar operation per lane.
#pragma once

#include "qkern/simd/arch.hpp"
#include "qkern/simd/lanewise.hpp"

#if XSIMD_WITH_NEON64
#include <arm_neon.h>
#endif

namespace qkern {
namespace simd {
namespace detail {

template <class A>
xsimd::batch<float, A> exact_divide(const xsimd::batch<float, A>& a, const xsimd::batch<float, A>& b,
                                    xsimd::generic) noexcept {
  return map_lanes<float>(a, b, [](float x, float y) { return x / y; });
}
template <class A>
xsimd::batch<float, A> exact_multiply(const xsimd::batch<float, A>& a, const xsimd::batch<float, A>& b,
                                      xsimd::generic) noexcept {
  return map_lanes<float>(a, b, [](float x, float y) { return x * y; });
}

// The x86 families (sse2..sse4.2, avx..avx2 with or without fma, avx512f and up): xsimd's
// operators are the single IEEE instructions.
template <class A>
xsimd::batch<float, A> exact_divide(const xsimd::batch<float, A>& a, const xsimd::batch<float, A>& b,
                                    xsimd::sse2) noexcept {
  return a / b;
}
template <class A>
xsimd::batch<float, A> exact_divide(const xsimd::batch<float, A>& a, const xsimd::batch<float, A>& b,
                                    xsimd::avx) noexcept {
  return a / b;
}
template <class A>
xsimd::batch<float, A> exact_divide(const xsimd::batch<float, A>& a, const xsimd::batch<float, A>& b,
                                    xsimd::avx512f) noexcept {
  return a / b;
}
template <class A>
xsimd::batch<float, A> exact_multiply(const xsimd::batch<float, A>& a, const xsimd::batch<float, A>& b,
                                      xsimd::sse2) noexcept {
  return a * b;
}
template <class A>
xsimd::batch<float, A> exact_multiply(const xsimd::batch<float, A>& a, const xsimd::batch<float, A>& b,
                                      xsimd::avx) noexcept {
  return a * b;
}
template <class A>
xsimd::batch<float, A> exact_multiply(const xsimd::batch<float, A>& a, const xsimd::batch<float, A>& b,
                                      xsimd::avx512f) noexcept {
  return a * b;
}

#if XSIMD_WITH_NEON64
template <class A>
xsimd::batch<float, A> exact_divide(const xsimd::batch<float, A>& a, const xsimd::batch<float, A>& b,
                                    xsimd::neon64) noexcept {
  return vdivq_f32(a, b);
}
template <class A>
xsimd::batch<float, A> exact_multiply(const xsimd::batch<float, A>& a, const xsimd::batch<float, A>& b,
                                      xsimd::neon64) noexcept {
  return vmulq_f32(a, b);
}
#endif

}  // namespace detail

// a[i] / b[i] per lane, correctly rounded (round to nearest even), as the scalar division.
template <class A>
xsimd::batch<float, A> exact_divide(const xsimd::batch<float, A>& a, const xsimd::batch<float, A>& b) noexcept {
  return detail::exact_divide(a, b, A{});
}

// a[i] * b[i] per lane, correctly rounded, subnormal results kept, as the scalar product.
template <class A>
xsimd::batch<float, A> exact_multiply(const xsimd::batch<float, A>& a, const xsimd::batch<float, A>& b) noexcept {
  return detail::exact_multiply(a, b, A{});
}

}  // namespace simd
}  // namespace qkern
