// SSE4.1 overloads (also taken by sse4.2, fma3<sse4.2> and fma4, all 128-bit). SSE4.1 brings
// the signed 32x32->64 multiply (pmuldq), the sign extensions (pmovsx) and pblendw that the
// int32 high multiply and the conversions are built from. The double-rounding multiply is the
// generic composition; rounding_divide_by_pot and saturating_left_shift are generic.
#pragma once

#include <cstdint>
#include <limits>

#include "qkern/core/multiplier.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/simd/arch.hpp"

#if XSIMD_WITH_SSE4_1

#include <smmintrin.h>

namespace qkern {
namespace simd {
namespace detail {
namespace sse41 {

// x * multiplier + addend as int64, for the even lanes and for the odd lanes of x.
struct wide_products {
  __m128i even;
  __m128i odd;
};

template <class A>
wide_products multiply_add_wide(__m128i x, __m128i multiplier, __m128i addend) noexcept {
  return {_mm_add_epi64(_mm_mul_epi32(x, multiplier), addend),
          _mm_add_epi64(_mm_mul_epi32(_mm_srli_epi64(x, 32), _mm_srli_epi64(multiplier, 32)), addend)};
}

// Bit `first`..`first + 31` of each int64, back in lane order. first in [0, 32].
template <class A>
__m128i bits_from(wide_products t, int first) noexcept {
  return _mm_blend_epi16(_mm_srl_epi64(t.even, _mm_cvtsi32_si128(first)),
                         _mm_sll_epi64(t.odd, _mm_cvtsi32_si128(32 - first)), 0xCC);
}

template <class A>
__m128i high_mul(__m128i a, __m128i b) noexcept {
  // floor((ab + 2^30) / 2^31) is bits 31..62 of ab + 2^30.
  const __m128i q = bits_from<A>(multiply_add_wide<A>(a, b, _mm_set1_epi64x(std::int64_t{1} << 30)), 31);
  // Only INT32_MIN * INT32_MIN reaches 2^31, which wrapped to INT32_MIN, a value no other
  // product gives: turn exactly those lanes into INT32_MAX.
  return _mm_xor_si128(q, _mm_cmpeq_epi32(q, _mm_set1_epi32(std::numeric_limits<std::int32_t>::min())));
}

}  // namespace sse41

template <class A>
xsimd::batch<std::int32_t, A> saturating_rounding_doubling_high_mul(const xsimd::batch<std::int32_t, A>& a,
                                                                    const xsimd::batch<std::int32_t, A>& b,
                                                                    xsimd::sse4_1) noexcept {
  return sse41::high_mul<A>(a, b);
}

// round_half_up(x * m / 2^(31 - shift)) saturated, with t = x * m + 2^(30 - shift) in int64:
// the answer is floor(t / 2^total_shift). Without a 64-bit arithmetic shift, take it from
// t's high dword (total_shift >= 32), or, for the rare total_shift < 31 (real multiplier > 1),
// from the shifted bits with the int32 range checked on the high dword. total_shift == 31
// is exactly the doubling high multiply.
template <class A>
xsimd::batch<std::int32_t, A> multiply(const xsimd::batch<std::int32_t, A>& x, const quantized_multiplier& m,
                                       single_rounding, xsimd::sse4_1) noexcept {
  const int total_shift = 31 - m.shift;
  const __m128i multiplier = _mm_set1_epi32(m.multiplier);
  if (total_shift == 31) return sse41::high_mul<A>(x, multiplier);
  const sse41::wide_products t =
      sse41::multiply_add_wide<A>(x, multiplier, _mm_set1_epi64x(std::int64_t{1} << (total_shift - 1)));
  const __m128i high = sse41::bits_from<A>(t, 32);  // floor(t / 2^32): |t| < 2^63, so exact
  if (total_shift >= 32) return _mm_sra_epi32(high, _mm_cvtsi32_si128(total_shift - 32));
  // floor(t / 2^s) fits int32 iff floor(t / 2^32) lies in [-2^(s-1), 2^(s-1)).
  const __m128i bound = _mm_set1_epi32(1 << (total_shift - 1));
  const __m128i above = _mm_cmpgt_epi32(high, _mm_sub_epi32(bound, _mm_set1_epi32(1)));
  const __m128i below = _mm_cmpgt_epi32(_mm_sub_epi32(_mm_setzero_si128(), bound), high);
  const __m128i value = sse41::bits_from<A>(t, total_shift);
  const __m128i clamped = _mm_blendv_epi8(value, _mm_set1_epi32(std::numeric_limits<std::int32_t>::max()), above);
  return _mm_blendv_epi8(clamped, _mm_set1_epi32(std::numeric_limits<std::int32_t>::min()), below);
}

template <class A>
xsimd::batch<std::int16_t, A> widen_low(const xsimd::batch<std::int8_t, A>& x, xsimd::sse4_1) noexcept {
  return _mm_cvtepi8_epi16(x);
}
template <class A>
xsimd::batch<std::int16_t, A> widen_high(const xsimd::batch<std::int8_t, A>& x, xsimd::sse4_1) noexcept {
  return _mm_cvtepi8_epi16(_mm_unpackhi_epi64(x, x));
}
template <class A>
xsimd::batch<std::int16_t, A> widen_low(const xsimd::batch<std::uint8_t, A>& x, xsimd::sse4_1) noexcept {
  return _mm_cvtepu8_epi16(x);
}
template <class A>
xsimd::batch<std::int16_t, A> widen_high(const xsimd::batch<std::uint8_t, A>& x, xsimd::sse4_1) noexcept {
  return _mm_cvtepu8_epi16(_mm_unpackhi_epi64(x, x));
}
template <class A>
xsimd::batch<std::int32_t, A> widen_low(const xsimd::batch<std::int16_t, A>& x, xsimd::sse4_1) noexcept {
  return _mm_cvtepi16_epi32(x);
}
template <class A>
xsimd::batch<std::int32_t, A> widen_high(const xsimd::batch<std::int16_t, A>& x, xsimd::sse4_1) noexcept {
  return _mm_cvtepi16_epi32(_mm_unpackhi_epi64(x, x));
}

// packs/packus saturate and keep lane order at 128 bits; int32 -> 8 bits is two packs.
template <class A>
xsimd::batch<std::int16_t, A> narrow_int32_to_int16(const xsimd::batch<std::int32_t, A>& lo,
                                                    const xsimd::batch<std::int32_t, A>& hi, xsimd::sse4_1) noexcept {
  return _mm_packs_epi32(lo, hi);
}
template <class A>
xsimd::batch<std::int8_t, A> narrow_int16_to_int8(const xsimd::batch<std::int16_t, A>& lo,
                                                  const xsimd::batch<std::int16_t, A>& hi, xsimd::sse4_1) noexcept {
  return _mm_packs_epi16(lo, hi);
}
template <class A>
xsimd::batch<std::uint8_t, A> narrow_int16_to_uint8(const xsimd::batch<std::int16_t, A>& lo,
                                                    const xsimd::batch<std::int16_t, A>& hi, xsimd::sse4_1) noexcept {
  return _mm_packus_epi16(lo, hi);
}

}  // namespace detail
}  // namespace simd
}  // namespace qkern

#endif  // XSIMD_WITH_SSE4_1
