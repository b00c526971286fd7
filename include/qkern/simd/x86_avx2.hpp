// AVX2 overloads (also taken by fma3<avx2>): the SSE4.1 algorithms at 256 bits. Lane order
// needs care where AVX2 works per 128-bit half: widening converts each half separately, and
// packs interleave the halves, so narrowing permutes them back.
#pragma once

#include <cstdint>
#include <limits>

#include "qkern/core/multiplier.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/simd/arch.hpp"

#if XSIMD_WITH_AVX2

#include <immintrin.h>

namespace qkern {
namespace simd {
namespace detail {
namespace avx2_impl {

// x * multiplier + addend as int64, for the even lanes and for the odd lanes of x.
struct wide_products {
  __m256i even;
  __m256i odd;
};

template <class A>
wide_products multiply_add_wide(__m256i x, __m256i multiplier, __m256i addend) noexcept {
  return {_mm256_add_epi64(_mm256_mul_epi32(x, multiplier), addend),
          _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(multiplier, 32)), addend)};
}

// Bit `first`..`first + 31` of each int64, back in lane order. first in [0, 32].
template <class A>
__m256i bits_from(wide_products t, int first) noexcept {
  return _mm256_blend_epi32(_mm256_srl_epi64(t.even, _mm_cvtsi32_si128(first)),
                            _mm256_sll_epi64(t.odd, _mm_cvtsi32_si128(32 - first)), 0xAA);
}

template <class A>
__m256i high_mul(__m256i a, __m256i b) noexcept {
  // floor((ab + 2^30) / 2^31) is bits 31..62 of ab + 2^30.
  const __m256i q = bits_from<A>(multiply_add_wide<A>(a, b, _mm256_set1_epi64x(std::int64_t{1} << 30)), 31);
  // Only INT32_MIN * INT32_MIN reaches 2^31, which wrapped to INT32_MIN, a value no other
  // product gives: turn exactly those lanes into INT32_MAX.
  return _mm256_xor_si256(q, _mm256_cmpeq_epi32(q, _mm256_set1_epi32(std::numeric_limits<std::int32_t>::min())));
}

}  // namespace avx2_impl

template <class A>
xsimd::batch<std::int32_t, A> saturating_rounding_doubling_high_mul(const xsimd::batch<std::int32_t, A>& a,
                                                                    const xsimd::batch<std::int32_t, A>& b,
                                                                    xsimd::avx2) noexcept {
  return avx2_impl::high_mul<A>(a, b);
}

// As for SSE4.1: t = x * m + 2^(total_shift - 1) in int64, answer floor(t / 2^total_shift)
// saturated, taken from t's high dword or, for total_shift < 31, range-checked on it.
template <class A>
xsimd::batch<std::int32_t, A> multiply(const xsimd::batch<std::int32_t, A>& x, const quantized_multiplier& m,
                                       single_rounding, xsimd::avx2) noexcept {
  const int total_shift = 31 - m.shift;
  const __m256i multiplier = _mm256_set1_epi32(m.multiplier);
  if (total_shift == 31) return avx2_impl::high_mul<A>(x, multiplier);
  const avx2_impl::wide_products t =
      avx2_impl::multiply_add_wide<A>(x, multiplier, _mm256_set1_epi64x(std::int64_t{1} << (total_shift - 1)));
  const __m256i high = avx2_impl::bits_from<A>(t, 32);  // floor(t / 2^32): |t| < 2^63, so exact
  if (total_shift >= 32) return _mm256_sra_epi32(high, _mm_cvtsi32_si128(total_shift - 32));
  // floor(t / 2^s) fits int32 iff floor(t / 2^32) lies in [-2^(s-1), 2^(s-1)).
  const __m256i bound = _mm256_set1_epi32(1 << (total_shift - 1));
  const __m256i above = _mm256_cmpgt_epi32(high, _mm256_sub_epi32(bound, _mm256_set1_epi32(1)));
  const __m256i below = _mm256_cmpgt_epi32(_mm256_sub_epi32(_mm256_setzero_si256(), bound), high);
  const __m256i value = avx2_impl::bits_from<A>(t, total_shift);
  const __m256i clamped =
      _mm256_blendv_epi8(value, _mm256_set1_epi32(std::numeric_limits<std::int32_t>::max()), above);
  return _mm256_blendv_epi8(clamped, _mm256_set1_epi32(std::numeric_limits<std::int32_t>::min()), below);
}

template <class A>
xsimd::batch<std::int16_t, A> widen_low(const xsimd::batch<std::int8_t, A>& x, xsimd::avx2) noexcept {
  return _mm256_cvtepi8_epi16(_mm256_castsi256_si128(x));
}
template <class A>
xsimd::batch<std::int16_t, A> widen_high(const xsimd::batch<std::int8_t, A>& x, xsimd::avx2) noexcept {
  return _mm256_cvtepi8_epi16(_mm256_extracti128_si256(x, 1));
}
template <class A>
xsimd::batch<std::int16_t, A> widen_low(const xsimd::batch<std::uint8_t, A>& x, xsimd::avx2) noexcept {
  return _mm256_cvtepu8_epi16(_mm256_castsi256_si128(x));
}
template <class A>
xsimd::batch<std::int16_t, A> widen_high(const xsimd::batch<std::uint8_t, A>& x, xsimd::avx2) noexcept {
  return _mm256_cvtepu8_epi16(_mm256_extracti128_si256(x, 1));
}
template <class A>
xsimd::batch<std::int32_t, A> widen_low(const xsimd::batch<std::int16_t, A>& x, xsimd::avx2) noexcept {
  return _mm256_cvtepi16_epi32(_mm256_castsi256_si128(x));
}
template <class A>
xsimd::batch<std::int32_t, A> widen_high(const xsimd::batch<std::int16_t, A>& x, xsimd::avx2) noexcept {
  return _mm256_cvtepi16_epi32(_mm256_extracti128_si256(x, 1));
}

// packs(lo, hi) gives [lo.0 hi.0 | lo.1 hi.1] in 128-bit halves; 0xD8 puts the quarters
// back in the order lo.0 lo.1 hi.0 hi.1.
template <class A>
xsimd::batch<std::int16_t, A> narrow_int32_to_int16(const xsimd::batch<std::int32_t, A>& lo,
                                                    const xsimd::batch<std::int32_t, A>& hi, xsimd::avx2) noexcept {
  return _mm256_permute4x64_epi64(_mm256_packs_epi32(lo, hi), 0xD8);
}
template <class A>
xsimd::batch<std::int8_t, A> narrow_int16_to_int8(const xsimd::batch<std::int16_t, A>& lo,
                                                  const xsimd::batch<std::int16_t, A>& hi, xsimd::avx2) noexcept {
  return _mm256_permute4x64_epi64(_mm256_packs_epi16(lo, hi), 0xD8);
}
template <class A>
xsimd::batch<std::uint8_t, A> narrow_int16_to_uint8(const xsimd::batch<std::int16_t, A>& lo,
                                                    const xsimd::batch<std::int16_t, A>& hi, xsimd::avx2) noexcept {
  return _mm256_permute4x64_epi64(_mm256_packus_epi16(lo, hi), 0xD8);
}

namespace avx2_impl {

// Two rounds of packs without fixing the order in between leave, in each 128-bit half h, the
// 4-lane groups q0.h q1.h q2.h q3.h (one dword each); one dword permute restores q0 q1 q2 q3.
template <class A>
__m256i unscramble_packed_quarters(__m256i packed) noexcept {
  return _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

}  // namespace avx2_impl

template <class A>
xsimd::batch<std::int8_t, A> narrow_int32_to_int8(const xsimd::batch<std::int32_t, A>& q0,
                                                  const xsimd::batch<std::int32_t, A>& q1,
                                                  const xsimd::batch<std::int32_t, A>& q2,
                                                  const xsimd::batch<std::int32_t, A>& q3, xsimd::avx2) noexcept {
  const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(q0, q1), _mm256_packs_epi32(q2, q3));
  return avx2_impl::unscramble_packed_quarters<A>(packed);
}
template <class A>
xsimd::batch<std::uint8_t, A> narrow_int32_to_uint8(const xsimd::batch<std::int32_t, A>& q0,
                                                    const xsimd::batch<std::int32_t, A>& q1,
                                                    const xsimd::batch<std::int32_t, A>& q2,
                                                    const xsimd::batch<std::int32_t, A>& q3, xsimd::avx2) noexcept {
  const __m256i packed = _mm256_packus_epi16(_mm256_packs_epi32(q0, q1), _mm256_packs_epi32(q2, q3));
  return avx2_impl::unscramble_packed_quarters<A>(packed);
}

}  // namespace detail
}  // namespace simd
}  // namespace qkern

#endif  // XSIMD_WITH_AVX2
