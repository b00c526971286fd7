// apply_fused_requantization on xsimd::batch<int32_t, A>: per lane exactly the scalar
// qkern::apply_fused_requantization (core/fused_requantization.hpp), so exactly
// Policy::multiply(x, m) + zero_point for |x| <= f.max_abs_input.
//
// x86 multiplies even and odd lanes with the signed 32x32->64 multiply (two per batch) and
// takes the high dwords with one shift and one blend; aarch64 uses the widening multiply and
// a narrowing shift. Other arches go through the scalar form per lane.
#pragma once

#include <cstdint>

#include "qkern/core/fused_requantization.hpp"
#include "qkern/simd/arch.hpp"
#include "qkern/simd/lanewise.hpp"

#if XSIMD_WITH_SSE4_1 || XSIMD_WITH_AVX2 || XSIMD_WITH_AVX512BW
#include <immintrin.h>
#endif
#if XSIMD_WITH_NEON64
#include <arm_neon.h>
#endif

namespace qkern {
namespace simd {
namespace detail {

template <class A>
xsimd::batch<std::int32_t, A> apply_fused_requantization(const xsimd::batch<std::int32_t, A>& x,
                                                         const fused_requantization& f, xsimd::generic) noexcept {
  return map_lanes<std::int32_t>(x, [&f](std::int32_t v) { return ::qkern::apply_fused_requantization(v, f); });
}

#if XSIMD_WITH_SSE4_1
template <class A>
xsimd::batch<std::int32_t, A> apply_fused_requantization(const xsimd::batch<std::int32_t, A>& x,
                                                         const fused_requantization& f, xsimd::sse4_1) noexcept {
  const __m128i m = _mm_set1_epi64x(f.multiplier);
  const __m128i c = _mm_set1_epi64x(f.constant);
  const __m128i doubled = _mm_sll_epi32(x, _mm_cvtsi32_si128(f.pre_shift));
  const __m128i even = _mm_add_epi64(_mm_mul_epi32(doubled, m), c);
  const __m128i odd = _mm_add_epi64(_mm_mul_epi32(_mm_srli_epi64(doubled, 32), m), c);
  // High dwords: the even products' move down into the even lanes, the odd products' are in place.
  __m128i high = _mm_blend_epi16(_mm_srli_epi64(even, 32), odd, 0xCC);
  if (f.sign_correction) high = _mm_add_epi32(high, _mm_srai_epi32(x, 31));
  high = _mm_sra_epi32(high, _mm_cvtsi32_si128(f.final_shift));
  return _mm_add_epi32(high, _mm_set1_epi32(f.zero_point_after));
}
#endif

#if XSIMD_WITH_AVX2
template <class A>
xsimd::batch<std::int32_t, A> apply_fused_requantization(const xsimd::batch<std::int32_t, A>& x,
                                                         const fused_requantization& f, xsimd::avx2) noexcept {
  const __m256i m = _mm256_set1_epi64x(f.multiplier);
  const __m256i c = _mm256_set1_epi64x(f.constant);
  const __m256i doubled = _mm256_sll_epi32(x, _mm_cvtsi32_si128(f.pre_shift));
  const __m256i even = _mm256_add_epi64(_mm256_mul_epi32(doubled, m), c);
  const __m256i odd = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(doubled, 32), m), c);
  __m256i high = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
  if (f.sign_correction) high = _mm256_add_epi32(high, _mm256_srai_epi32(x, 31));
  high = _mm256_sra_epi32(high, _mm_cvtsi32_si128(f.final_shift));
  return _mm256_add_epi32(high, _mm256_set1_epi32(f.zero_point_after));
}
#endif

#if XSIMD_WITH_AVX512BW
template <class A>
xsimd::batch<std::int32_t, A> apply_fused_requantization(const xsimd::batch<std::int32_t, A>& x,
                                                         const fused_requantization& f, xsimd::avx512bw) noexcept {
  const __m512i m = _mm512_set1_epi64(f.multiplier);
  const __m512i c = _mm512_set1_epi64(f.constant);
  const __m512i doubled = _mm512_sll_epi32(x, _mm_cvtsi32_si128(f.pre_shift));
  const __m512i even = _mm512_add_epi64(_mm512_mul_epi32(doubled, m), c);
  const __m512i odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(doubled, 32), m), c);
  __m512i high = _mm512_mask_mov_epi32(_mm512_srli_epi64(even, 32), 0xAAAA, odd);
  if (f.sign_correction) high = _mm512_add_epi32(high, _mm512_srai_epi32(x, 31));
  high = _mm512_sra_epi32(high, _mm_cvtsi32_si128(f.final_shift));
  return _mm512_add_epi32(high, _mm512_set1_epi32(f.zero_point_after));
}
#endif

#if XSIMD_WITH_NEON64
template <class A>
xsimd::batch<std::int32_t, A> apply_fused_requantization(const xsimd::batch<std::int32_t, A>& x,
                                                         const fused_requantization& f, xsimd::neon64) noexcept {
  const int32x4_t doubled = vshlq_s32(x, vdupq_n_s32(f.pre_shift));
  const int32x2_t m = vdup_n_s32(f.multiplier);
  const int64x2_t c = vdupq_n_s64(f.constant);
  const int64x2_t low_half = vmlal_s32(c, vget_low_s32(doubled), m);
  const int64x2_t high_half = vmlal_high_s32(c, doubled, vdupq_n_s32(f.multiplier));
  int32x4_t high = vcombine_s32(vshrn_n_s64(low_half, 32), vshrn_n_s64(high_half, 32));
  if (f.sign_correction) high = vaddq_s32(high, vshrq_n_s32(x, 31));
  high = vshlq_s32(high, vdupq_n_s32(-f.final_shift));  // a negative count shifts right, arithmetically
  return vaddq_s32(high, vdupq_n_s32(f.zero_point_after));
}
#endif

}  // namespace detail

// Policy::multiply(x[i], m) + zero_point per lane, through the fused constants `f`.
// Precondition: |x[i]| <= f.max_abs_input.
template <class A>
xsimd::batch<std::int32_t, A> apply_fused_requantization(const xsimd::batch<std::int32_t, A>& x,
                                                         const fused_requantization& f) noexcept {
  return detail::apply_fused_requantization(x, f, A{});
}

}  // namespace simd
}  // namespace qkern
