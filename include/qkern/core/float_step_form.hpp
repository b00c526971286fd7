// The float form of an int8 output step: one float multiply-add in place of an integer
// requantization, kept only where it is proven to give the same int8 outputs.
//
// An op's unclamped output t(n) = Policy::multiply(n, m) + zero point is a non-decreasing
// step function of an integer n (mul: the product of the offset inputs; conv and fully
// connected: the accumulator). For a float32 multiplier f and constants c_neg (n < 0) and
// c_nonneg (n >= 0), AVX-512 computes floor(n f + c) per lane as
//   vcvtdq2ps (n exact in float while |n| <= 2^24), vfmadd with round-down, vcvtps2dq with
//   round-down.
// That is the floor of the exact real n f + c: rounding down lands in [floor(y), y] because
// floor(y) is itself a float while |y| < 2^24.
//
// Writing f = F / 2^s (F the 24-bit significand) and c = K / 2^s, floor(n f + c) is
// (n F + K) >> s, so the search works in integers: f is the float nearest m (or one ulp away),
// and each point (n, t(n)) bounds K for its sign of n:
//   K >= min(t, 127) 2^s - n F         where t > -128   (floor(y) reaches t, or 127)
//   K <  (max(t, -128) + 1) 2^s - n F  where t <  127   (floor(y) stays at t, or at -128)
// so that int8 saturation and any activation clamp give the spec's output. The form exists
// when both intervals hold a K that is a float (24 significant bits). Double rounding's sign
// correction is a jump at n = 0, which is why the two signs get their own constant.
#pragma once

#include <cmath>
#include <cstdint>

#include "qkern/core/multiplier.hpp"

namespace qkern {

struct float_step_form {
  bool valid = false;
  bool split_sign = false;  // constant_negative differs from constant_nonnegative
  float multiplier = 0.0f;
  float constant_nonnegative = 0.0f;
  float constant_negative = 0.0f;
};

namespace detail {

struct integer_interval {
  std::int64_t lo = INT64_MIN;
  std::int64_t hi = INT64_MAX;
  bool empty() const noexcept { return lo > hi; }
};

// The bounds one point (n, t(n)) puts on K (f = F / 2^s).
struct float_step_point {
  std::int64_t significand;
  int fraction_bits;

  // floor(n f + c) >= min(t, 127)
  void at_least(std::int64_t n, std::int64_t t, integer_interval& range) const noexcept {
    if (t <= -128) return;
    const std::int64_t need = (t < 127 ? t : 127) * (std::int64_t{1} << fraction_bits) - n * significand;
    if (need > range.lo) range.lo = need;
  }
  // floor(n f + c) <= max(t, -128)
  void at_most(std::int64_t n, std::int64_t t, integer_interval& range) const noexcept {
    if (t >= 127) return;
    const std::int64_t limit = ((t > -128 ? t : -128) + 1) * (std::int64_t{1} << fraction_bits) - n * significand - 1;
    if (limit < range.hi) range.hi = limit;
  }
  // both: floor(n f + c) equals t where t is inside int8, saturates alike outside
  void exact(std::int64_t n, std::int64_t t, integer_interval& range) const noexcept {
    at_least(n, t, range);
    at_most(n, t, range);
  }
};

inline int bit_length(std::uint64_t v) noexcept {
  int n = 0;
  for (; v != 0; v >>= 1) ++n;
  return n;
}

// A K in [lo, hi] with at most 24 significant bits (so K / 2^s is a float), near 0.
inline bool pick_float_numerator(const integer_interval& range, std::int64_t& k) noexcept {
  if (range.empty()) return false;
  if (range.lo <= 0 && range.hi >= 0) {  // also the unconstrained interval of a sign with no points
    k = 0;
    return true;
  }
  // One bound is nonzero and finite: the one nearer 0 (then move away from 0 to a multiple of
  // 2^excess, staying inside the interval).
  std::int64_t candidate = range.lo > 0 ? range.lo : range.hi;
  const auto bits = static_cast<std::uint64_t>(candidate);
  const std::uint64_t magnitude = candidate < 0 ? 0 - bits : bits;
  const int excess = bit_length(magnitude) - 24;
  if (excess > 0) {
    const std::int64_t unit = std::int64_t{1} << excess;
    candidate = candidate > 0 ? (candidate + unit - 1) / unit * unit : -((-candidate + unit - 1) / unit * unit);
  }
  if (candidate < range.lo || candidate > range.hi) return false;
  k = candidate;
  return true;
}

// Tries the float nearest m and its two neighbours: `narrow(point, negative, nonnegative)`
// applies every point's bounds to the interval of its sign. m must have a Q31 multiplier in
// [2^30, 2^31) and a shift whose fraction bits (24 - shift) keep the products in int64.
template <class Narrow>
float_step_form fit_float_step_form(quantized_multiplier m, const Narrow& narrow) noexcept {
  float_step_form form;
  // m = M 2^(shift - 31) with M in [2^30, 2^31): the nearest 24-bit significand is M / 2^7
  // rounded (ties to even), F 2^(shift - 24).
  std::int64_t nearest = (std::int64_t{m.multiplier} + 64) >> 7;
  if ((std::int64_t{m.multiplier} & 127) == 64) nearest &= ~std::int64_t{1};
  int fraction_bits = 24 - m.shift;
  if (nearest == (std::int64_t{1} << 24)) {
    nearest >>= 1;
    --fraction_bits;
  }
  const std::int64_t tries[3] = {nearest, nearest + 1, nearest - 1};
  for (const std::int64_t significand : tries) {
    if (significand >= (std::int64_t{1} << 24) || significand < (std::int64_t{1} << 23)) continue;
    integer_interval negative, nonnegative;
    narrow(float_step_point{significand, fraction_bits}, negative, nonnegative);
    const integer_interval both{negative.lo > nonnegative.lo ? negative.lo : nonnegative.lo,
                                negative.hi < nonnegative.hi ? negative.hi : nonnegative.hi};
    std::int64_t k_negative = 0, k_nonnegative = 0;
    if (pick_float_numerator(both, k_nonnegative)) {
      k_negative = k_nonnegative;
    } else if (!pick_float_numerator(negative, k_negative) || !pick_float_numerator(nonnegative, k_nonnegative)) {
      continue;
    }
    form.valid = true;
    form.split_sign = k_negative != k_nonnegative;
    form.multiplier = std::ldexp(static_cast<float>(significand), -fraction_bits);
    form.constant_negative = static_cast<float>(std::ldexp(static_cast<double>(k_negative), -fraction_bits));
    form.constant_nonnegative = static_cast<float>(std::ldexp(static_cast<double>(k_nonnegative), -fraction_bits));
    return form;
  }
  return form;
}

}  // namespace detail
}  // namespace qkern
