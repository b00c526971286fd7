// AVX-512BW overloads (xsimd's avx512bw arch implies F, CD and DQ). AVX-512 has the 64-bit
// arithmetic shift and the saturating 64->32 narrowing that SSE and AVX2 lack, so both
// requantization policies become one multiply-add in int64 and one shift, the results then
// taken from the low dwords (or narrowed with saturation where one can leave int32); double
// rounding folds both of its roundings into that single shift.
#pragma once

#include <cstdint>
#include <limits>

#include "qkern/core/multiplier.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/simd/arch.hpp"
#include "qkern/simd/lanewise.hpp"

#if XSIMD_WITH_AVX512BW

#include <immintrin.h>

namespace qkern {
namespace simd {
namespace detail {
namespace avx512_impl {

template <class A>
__m512i high_mul(__m512i a, __m512i b) noexcept {
  const __m512i round = _mm512_set1_epi64(std::int64_t{1} << 30);
  const __m512i even = _mm512_add_epi64(_mm512_mul_epi32(a, b), round);
  const __m512i odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(a, 32), _mm512_srli_epi64(b, 32)), round);
  // floor((ab + 2^30) / 2^31) is bits 31..62 of ab + 2^30.
  const __m512i q = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 31), _mm512_slli_epi64(odd, 1));
  // Only INT32_MIN * INT32_MIN reaches 2^31, which wrapped to INT32_MIN, a value no other
  // product gives: turn exactly those lanes into INT32_MAX.
  const __mmask16 overflowed = _mm512_cmpeq_epi32_mask(q, _mm512_set1_epi32(std::numeric_limits<std::int32_t>::min()));
  return _mm512_mask_mov_epi32(q, overflowed, _mm512_set1_epi32(std::numeric_limits<std::int32_t>::max()));
}

// floor((x * multiplier + addend - [x * multiplier < 0] * negative_correction) / 2^shift) per
// lane, saturated to int32 when `saturate` (otherwise every result must fit int32). shift in
// [1, 63]; the int64 sum must not overflow.
template <class A>
__m512i multiply_round_shift(__m512i x, std::int32_t multiplier, std::int64_t addend, std::int64_t negative_correction,
                             int shift, bool saturate) noexcept {
  const __m512i m = _mm512_set1_epi32(multiplier);
  const __m512i product_even = _mm512_mul_epi32(x, m);
  const __m512i product_odd = _mm512_mul_epi32(_mm512_srli_epi64(x, 32), m);
  __m512i even = _mm512_add_epi64(product_even, _mm512_set1_epi64(addend));
  __m512i odd = _mm512_add_epi64(product_odd, _mm512_set1_epi64(addend));
  if (negative_correction != 0) {
    const __m512i correction = _mm512_set1_epi64(negative_correction);
    even = _mm512_mask_sub_epi64(even, _mm512_movepi64_mask(product_even), even, correction);
    odd = _mm512_mask_sub_epi64(odd, _mm512_movepi64_mask(product_odd), odd, correction);
  }
  const __m128i count = _mm_cvtsi32_si128(shift);
  even = _mm512_sra_epi64(even, count);
  odd = _mm512_sra_epi64(odd, count);
  if (!saturate) {
    // Each result is its int64's low dword: move the odd ones up beside the even ones.
    return _mm512_mask_shuffle_epi32(even, 0xAAAA, odd, _MM_PERM_CCAA);
  }
  // vpmovsqd saturates each int64 to int32; vpermt2d interleaves even and odd lanes again.
  const __m512i even32 = _mm512_zextsi256_si512(_mm512_cvtsepi64_epi32(even));
  const __m512i odd32 = _mm512_zextsi256_si512(_mm512_cvtsepi64_epi32(odd));
  const __m512i zip = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  return _mm512_permutex2var_epi32(even32, zip, odd32);
}

}  // namespace avx512_impl

template <class A>
xsimd::batch<std::int32_t, A> saturating_rounding_doubling_high_mul(const xsimd::batch<std::int32_t, A>& a,
                                                                    const xsimd::batch<std::int32_t, A>& b,
                                                                    xsimd::avx512bw) noexcept {
  return avx512_impl::high_mul<A>(a, b);
}

template <class A>
xsimd::batch<std::int32_t, A> multiply(const xsimd::batch<std::int32_t, A>& x, const quantized_multiplier& m,
                                       single_rounding, xsimd::avx512bw) noexcept {
  const int total_shift = 31 - m.shift;
  // |x * m| <= 2^62, so a shift by 32 or more always lands inside int32.
  return avx512_impl::multiply_round_shift<A>(x, m.multiplier, std::int64_t{1} << (total_shift - 1), 0, total_shift,
                                              total_shift < 32);
}

// With p = x * m and a right shift r >= 0, the doubling high multiply is y = floor((p + 2^30)
// / 2^31) and, for r >= 1, rounding_divide_by_pot(y, r) = floor((y + 2^(r-1) - [y < 0]) / 2^r).
// Nesting the floors gives floor((p + 2^30 + 2^(30+r) - [y < 0] * 2^31) / 2^(31+r)): one
// rounding. [y < 0] is read as [p < 0]; the two differ only for p in [-2^30, 0), where y = 0
// and both forms give 0. Only INT32_MIN * INT32_MIN (r = 0) leaves int32, and saturates.
// A left shift (up to 30) leaves one rounding, which is single rounding's.
template <class A>
xsimd::batch<std::int32_t, A> multiply(const xsimd::batch<std::int32_t, A>& x, const quantized_multiplier& m,
                                       double_rounding, xsimd::avx512bw) noexcept {
  constexpr std::int64_t half = std::int64_t{1} << 30;
  if (m.shift > 0 && m.shift <= 30) return multiply(x, m, single_rounding{}, xsimd::avx512bw{});
  if (m.shift > 30) return map_lanes<std::int32_t>(x, [&m](std::int32_t v) { return double_rounding::multiply(v, m); });
  const int right = -m.shift;
  const std::int64_t negative_correction = right > 0 ? std::int64_t{1} << 31 : 0;
  const bool saturate = right == 0 && m.multiplier == std::numeric_limits<std::int32_t>::min();
  return avx512_impl::multiply_round_shift<A>(x, m.multiplier, half + (right > 0 ? half << right : 0),
                                              negative_correction, 31 + right, saturate);
}

template <class A>
xsimd::batch<std::int16_t, A> widen_low(const xsimd::batch<std::int8_t, A>& x, xsimd::avx512bw) noexcept {
  return _mm512_cvtepi8_epi16(_mm512_castsi512_si256(x));
}
template <class A>
xsimd::batch<std::int16_t, A> widen_high(const xsimd::batch<std::int8_t, A>& x, xsimd::avx512bw) noexcept {
  return _mm512_cvtepi8_epi16(_mm512_extracti64x4_epi64(x, 1));
}
template <class A>
xsimd::batch<std::int16_t, A> widen_low(const xsimd::batch<std::uint8_t, A>& x, xsimd::avx512bw) noexcept {
  return _mm512_cvtepu8_epi16(_mm512_castsi512_si256(x));
}
template <class A>
xsimd::batch<std::int16_t, A> widen_high(const xsimd::batch<std::uint8_t, A>& x, xsimd::avx512bw) noexcept {
  return _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64(x, 1));
}
template <class A>
xsimd::batch<std::int32_t, A> widen_low(const xsimd::batch<std::int16_t, A>& x, xsimd::avx512bw) noexcept {
  return _mm512_cvtepi16_epi32(_mm512_castsi512_si256(x));
}
template <class A>
xsimd::batch<std::int32_t, A> widen_high(const xsimd::batch<std::int16_t, A>& x, xsimd::avx512bw) noexcept {
  return _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(x, 1));
}

namespace avx512_impl {

// packs(lo, hi) works per 128-bit block b, giving lo.b hi.b (one qword each); gather the lo
// qwords, then the hi ones.
template <class A>
__m512i unscramble_packed_pairs(__m512i packed) noexcept {
  return _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7), packed);
}

// Two rounds of packs leave, in each 128-bit block b, q0.b q1.b q2.b q3.b (one dword each).
template <class A>
__m512i unscramble_packed_quarters(__m512i packed) noexcept {
  return _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), packed);
}

}  // namespace avx512_impl

template <class A>
xsimd::batch<std::int16_t, A> narrow_int32_to_int16(const xsimd::batch<std::int32_t, A>& lo,
                                                    const xsimd::batch<std::int32_t, A>& hi,
                                                    xsimd::avx512bw) noexcept {
  return avx512_impl::unscramble_packed_pairs<A>(_mm512_packs_epi32(lo, hi));
}
template <class A>
xsimd::batch<std::int8_t, A> narrow_int16_to_int8(const xsimd::batch<std::int16_t, A>& lo,
                                                  const xsimd::batch<std::int16_t, A>& hi, xsimd::avx512bw) noexcept {
  return avx512_impl::unscramble_packed_pairs<A>(_mm512_packs_epi16(lo, hi));
}
template <class A>
xsimd::batch<std::uint8_t, A> narrow_int16_to_uint8(const xsimd::batch<std::int16_t, A>& lo,
                                                    const xsimd::batch<std::int16_t, A>& hi,
                                                    xsimd::avx512bw) noexcept {
  return avx512_impl::unscramble_packed_pairs<A>(_mm512_packus_epi16(lo, hi));
}
template <class A>
xsimd::batch<std::int8_t, A> narrow_int32_to_int8(const xsimd::batch<std::int32_t, A>& q0,
                                                  const xsimd::batch<std::int32_t, A>& q1,
                                                  const xsimd::batch<std::int32_t, A>& q2,
                                                  const xsimd::batch<std::int32_t, A>& q3, xsimd::avx512bw) noexcept {
  const __m512i packed = _mm512_packs_epi16(_mm512_packs_epi32(q0, q1), _mm512_packs_epi32(q2, q3));
  return avx512_impl::unscramble_packed_quarters<A>(packed);
}
template <class A>
xsimd::batch<std::uint8_t, A> narrow_int32_to_uint8(const xsimd::batch<std::int32_t, A>& q0,
                                                    const xsimd::batch<std::int32_t, A>& q1,
                                                    const xsimd::batch<std::int32_t, A>& q2,
                                                    const xsimd::batch<std::int32_t, A>& q3,
                                                    xsimd::avx512bw) noexcept {
  const __m512i packed = _mm512_packus_epi16(_mm512_packs_epi32(q0, q1), _mm512_packs_epi32(q2, q3));
  return avx512_impl::unscramble_packed_quarters<A>(packed);
}

}  // namespace detail
}  // namespace simd
}  // namespace qkern

#endif  // XSIMD_WITH_AVX512BW
