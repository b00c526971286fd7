// The average pools' division on vectors: rounded_average(s, n) (kernels/pooling/
// average_pool2d.hpp: s / n rounded half away from zero) for every lane of a batch of window
// sums s and one tap count n, without a divide instruction.
//
// Both forms use  rounded_average(s, n) = sign(s) · floor((|s| + floor(n/2)) / n):
// for s > 0 the scalar computes (s + n/2) / n, truncating = flooring; for s <= 0 it computes
// (s - n/2) / n, truncating toward zero = -floor((|s| + n/2) / n). Only the floor of a
// non-negative a = |s| + floor(n/2) is left, and a is bounded by the largest |s| a window of n
// taps can sum to (max_abs_sum), plus n/2.
//
// int16 lanes (int8 inputs, n <= 256): floor(a / n) = floor(a · M / 2^(16 + k)) with
//   k = ceil(log2 n) - 1 and M = ceil(2^(16+k) / n) < 2^16 (n >= 2; n = 1 is the identity).
//   Proof: M·n = 2^(16+k) + e with 0 <= e < n, so a·M / 2^(16+k) = a/n + a·e / (n·2^(16+k)).
//   Writing a = q·n + j (0 <= j <= n-1), the floor is q exactly when the added term is below
//   1/n, i.e. when a·e < 2^(16+k). make_u16_reciprocal checks that sufficient condition for the
//   largest a and refuses the form otherwise; tests/pooling_simd checks every a of every n up to
//   256 exhaustively, with the vector code itself. One unsigned high multiply and one shift.
//
// int32 lanes (larger windows, int16 inputs): float arithmetic. x = a + 1/2 is exact in float
//   (a < 2^21), r = fl(1/n), and p = fl(x · r) = (x/n)(1 + η) with |η| <= 2^-24 + 2^-24 + 2^-48.
//   x/n = q + (j + 1/2)/n lies at least 1/(2n) from both q and q + 1; the error (x/n)|η| stays
//   below that while x·|η| < 1/2, which holds with room to spare for x < 2^21
//   (2^21 · (2^-23 + 2^-48) < 1/4). So trunc(p) = q. make_float_reciprocal refuses larger sums. (tests/pooling_simd also checks the
//   end points of every quotient of every n the tests reach: p is monotone in a, so the two ends
//   of each run of equal quotients decide the whole run.)
#pragma once

#include <cstdint>

#include "qkern/simd/arch.hpp"
#include "qkern/simd/lanewise.hpp"

#if XSIMD_WITH_SSE2 || XSIMD_WITH_AVX2 || XSIMD_WITH_AVX512BW
#include <immintrin.h>
#endif
#if XSIMD_WITH_NEON
#include <arm_neon.h>
#endif

namespace qkern {
namespace simd {

// floor(a / n) = floor(a · multiplier / 2^(16 + shift)) for 0 <= a <= max_dividend.
struct u16_reciprocal {
  std::int32_t divisor = 1;
  std::uint16_t multiplier = 0;
  int shift = 0;
  std::int16_t half = 0;  // floor(n / 2)
  bool identity = true;   // n = 1: the sum is the average
};

// The int16-lane form for tap count n and sums |s| <= max_abs_sum; false where the form is not
// proven exact (then the caller must take another path).
constexpr bool make_u16_reciprocal(std::int32_t n, std::int32_t max_abs_sum, u16_reciprocal& r) noexcept {
  if (n < 1 || max_abs_sum < 0 || max_abs_sum > 32768) return false;
  r = u16_reciprocal{};
  r.divisor = n;
  if (n == 1) return true;
  const std::int64_t max_dividend = std::int64_t{max_abs_sum} + n / 2;
  if (max_dividend > 65535) return false;
  int k = 0;
  while ((std::int64_t{1} << (k + 1)) < n) ++k;  // 2^k < n <= 2^(k+1)
  const std::int64_t power = std::int64_t{1} << (16 + k);
  const std::int64_t m = (power + n - 1) / n;
  const std::int64_t e = m * n - power;
  if (m > 65535 || max_dividend * e >= power) return false;
  r.multiplier = static_cast<std::uint16_t>(m);
  r.shift = k;
  r.half = static_cast<std::int16_t>(n / 2);
  r.identity = false;
  return true;
}

// floor(a / n) = trunc(fl(fl(a + 1/2) · fl(1/n))) for 0 <= a <= max_dividend < 2^21 - 1.
struct float_reciprocal {
  std::int32_t divisor = 1;
  float reciprocal = 1.0f;
  float half = 0.5f;  // floor(n / 2) + 1/2
};

constexpr bool make_float_reciprocal(std::int32_t n, std::int64_t max_abs_sum, float_reciprocal& r) noexcept {
  if (n < 1 || max_abs_sum < 0) return false;
  if (max_abs_sum + n / 2 >= (std::int64_t{1} << 21) - 1) return false;
  r.divisor = n;
  r.reciprocal = 1.0f / static_cast<float>(n);
  r.half = static_cast<float>(n / 2) + 0.5f;
  return true;
}

namespace detail {

// The high 16 bits of the unsigned 16x16-bit products, lane by lane.
template <class A>
xsimd::batch<std::int16_t, A> mulhi_u16(const xsimd::batch<std::int16_t, A>& a, const xsimd::batch<std::int16_t, A>& b,
                                        xsimd::generic) noexcept {
  return map_lanes<std::int16_t>(a, b, [](std::int16_t x, std::int16_t y) {
    const std::uint32_t product = std::uint32_t{static_cast<std::uint16_t>(x)} * static_cast<std::uint16_t>(y);
    return static_cast<std::int16_t>(static_cast<std::uint16_t>(product >> 16));
  });
}

#if XSIMD_WITH_SSE2
template <class A>
xsimd::batch<std::int16_t, A> mulhi_u16(const xsimd::batch<std::int16_t, A>& a, const xsimd::batch<std::int16_t, A>& b,
                                        xsimd::sse2) noexcept {
  return _mm_mulhi_epu16(a, b);
}
#endif

#if XSIMD_WITH_AVX2
template <class A>
xsimd::batch<std::int16_t, A> mulhi_u16(const xsimd::batch<std::int16_t, A>& a, const xsimd::batch<std::int16_t, A>& b,
                                        xsimd::avx2) noexcept {
  return _mm256_mulhi_epu16(a, b);
}
#endif

#if XSIMD_WITH_AVX512BW
template <class A>
xsimd::batch<std::int16_t, A> mulhi_u16(const xsimd::batch<std::int16_t, A>& a, const xsimd::batch<std::int16_t, A>& b,
                                        xsimd::avx512bw) noexcept {
  return _mm512_mulhi_epu16(a, b);
}
#endif

#if XSIMD_WITH_NEON
template <class A>
xsimd::batch<std::int16_t, A> mulhi_u16(const xsimd::batch<std::int16_t, A>& a, const xsimd::batch<std::int16_t, A>& b,
                                        xsimd::neon) noexcept {
  const uint16x8_t x = vreinterpretq_u16_s16(a);
  const uint16x8_t y = vreinterpretq_u16_s16(b);
  const uint32x4_t low = vmull_u16(vget_low_u16(x), vget_low_u16(y));
  const uint32x4_t high = vmull_u16(vget_high_u16(x), vget_high_u16(y));
  return vreinterpretq_s16_u16(vcombine_u16(vshrn_n_u32(low, 16), vshrn_n_u32(high, 16)));
}
#endif

}  // namespace detail

template <class A>
xsimd::batch<std::int16_t, A> mulhi_u16(const xsimd::batch<std::int16_t, A>& a,
                                        const xsimd::batch<std::int16_t, A>& b) noexcept {
  return detail::mulhi_u16(a, b, A{});
}

// rounded_average(s, n) per lane, for |s| <= the max_abs_sum r was made for.
template <class A>
xsimd::batch<std::int16_t, A> rounded_divide(const xsimd::batch<std::int16_t, A>& s, const u16_reciprocal& r) noexcept {
  using words = xsimd::batch<std::int16_t, A>;
  if (r.identity) return s;
  const words sign = s >> 15;
  // |s| + n/2 as an unsigned 16-bit value (|-32768| wraps to the bit pattern of 32768).
  const words dividend = ((s ^ sign) - sign) + words(r.half);
  // The quotient is at most 128.5 · 2^k < 2^15: the arithmetic shift is a logical one.
  const words quotient = mulhi_u16(dividend, words(static_cast<std::int16_t>(r.multiplier))) >> r.shift;
  return (quotient ^ sign) - sign;
}

// rounded_average(s, n) per lane, for |s| <= the max_abs_sum r was made for.
template <class A>
xsimd::batch<std::int32_t, A> rounded_divide(const xsimd::batch<std::int32_t, A>& s,
                                             const float_reciprocal& r) noexcept {
  using dwords = xsimd::batch<std::int32_t, A>;
  using floats = xsimd::batch<float, A>;
  const dwords sign = s >> 31;
  const floats x = xsimd::batch_cast<float>((s ^ sign) - sign) + floats(r.half);
  const dwords quotient = xsimd::batch_cast<std::int32_t>(x * floats(r.reciprocal));  // truncates
  return (quotient ^ sign) - sign;
}

}  // namespace simd
}  // namespace qkern
