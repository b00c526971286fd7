// a[i] * b[i] for int32 lanes that hold int16 values, exactly. On x86 the 16x16->32 multiply-add
// with b's high words cleared is cheaper than a full 32-bit multiply: each lane is
// a.low * b.low + a.high * 0.
#pragma once

#include <cstdint>

#include "qkern/simd/arch.hpp"

#if XSIMD_WITH_SSE4_1 || XSIMD_WITH_AVX2 || XSIMD_WITH_AVX512BW
#include <immintrin.h>
#endif

namespace qkern {
namespace simd {
namespace detail {

template <class A>
xsimd::batch<std::int32_t, A> multiply_int16_lanes(const xsimd::batch<std::int32_t, A>& a,
                                                   const xsimd::batch<std::int32_t, A>& b, xsimd::generic) noexcept {
  return a * b;
}

#if XSIMD_WITH_SSE4_1
template <class A>
xsimd::batch<std::int32_t, A> multiply_int16_lanes(const xsimd::batch<std::int32_t, A>& a,
                                                   const xsimd::batch<std::int32_t, A>& b, xsimd::sse4_1) noexcept {
  return _mm_madd_epi16(a, _mm_and_si128(b, _mm_set1_epi32(0xFFFF)));
}
#endif

#if XSIMD_WITH_AVX2
template <class A>
xsimd::batch<std::int32_t, A> multiply_int16_lanes(const xsimd::batch<std::int32_t, A>& a,
                                                   const xsimd::batch<std::int32_t, A>& b, xsimd::avx2) noexcept {
  return _mm256_madd_epi16(a, _mm256_and_si256(b, _mm256_set1_epi32(0xFFFF)));
}
#endif

#if XSIMD_WITH_AVX512BW
template <class A>
xsimd::batch<std::int32_t, A> multiply_int16_lanes(const xsimd::batch<std::int32_t, A>& a,
                                                   const xsimd::batch<std::int32_t, A>& b, xsimd::avx512bw) noexcept {
  return _mm512_madd_epi16(a, _mm512_and_si512(b, _mm512_set1_epi32(0xFFFF)));
}
#endif

}  // namespace detail

// Precondition: every lane of a and b lies in [-32768, 32767].
template <class A>
xsimd::batch<std::int32_t, A> multiply_int16_lanes(const xsimd::batch<std::int32_t, A>& a,
                                                   const xsimd::batch<std::int32_t, A>& b) noexcept {
  return detail::multiply_int16_lanes(a, b, A{});
}

}  // namespace simd
}  // namespace qkern
