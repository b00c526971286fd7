// load_widened<A>(p): batch<int32_t, A>::size consecutive int8 values from p, sign-extended to
// int32 lanes in order. Widening straight from memory costs one extending load per batch on
// x86 instead of two rounds of in-register widening.
#pragma once

#include <cstdint>
#include <cstring>

#include "qkern/simd/arch.hpp"

#if XSIMD_WITH_SSE4_1 || XSIMD_WITH_AVX2 || XSIMD_WITH_AVX512BW
#include <immintrin.h>
#endif
#if XSIMD_WITH_NEON
#include <arm_neon.h>
#endif

namespace qkern {
namespace simd {
namespace detail {

template <class A>
xsimd::batch<std::int32_t, A> load_widened(const std::int8_t* p, xsimd::generic) noexcept {
  alignas(64) std::int32_t lanes[xsimd::batch<std::int32_t, A>::size];
  for (std::size_t i = 0; i < xsimd::batch<std::int32_t, A>::size; ++i) lanes[i] = p[i];
  return xsimd::batch<std::int32_t, A>::load_aligned(lanes);
}

#if XSIMD_WITH_SSE4_1
template <class A>
xsimd::batch<std::int32_t, A> load_widened(const std::int8_t* p, xsimd::sse4_1) noexcept {
  std::int32_t four;
  std::memcpy(&four, p, sizeof four);
  return _mm_cvtepi8_epi32(_mm_cvtsi32_si128(four));
}
#endif

#if XSIMD_WITH_AVX2
template <class A>
xsimd::batch<std::int32_t, A> load_widened(const std::int8_t* p, xsimd::avx2) noexcept {
  return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}
#endif

#if XSIMD_WITH_AVX512BW
template <class A>
xsimd::batch<std::int32_t, A> load_widened(const std::int8_t* p, xsimd::avx512bw) noexcept {
  return _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
#endif

#if XSIMD_WITH_NEON
template <class A>
xsimd::batch<std::int32_t, A> load_widened(const std::int8_t* p, xsimd::neon) noexcept {
  std::int32_t four;
  std::memcpy(&four, p, sizeof four);
  const int16x8_t words = vmovl_s8(vreinterpret_s8_s32(vdup_n_s32(four)));
  return vmovl_s16(vget_low_s16(words));
}
#endif

}  // namespace detail

template <class A>
xsimd::batch<std::int32_t, A> load_widened(const std::int8_t* p) noexcept {
  return detail::load_widened<A>(p, A{});
}

}  // namespace simd
}  // namespace qkern
