// The float form of int8 mul's output step: the AVX-512 rows' exact shortcut.
//
// mul's unclamped output t(P) = Policy::multiply(P, m) + zero point is a non-decreasing step
// function of the product P = (x1 + o1)(x2 + o2), |P| <= 255^2. For a float32 multiplier f and
// constants c_neg (P < 0) and c_nonneg (P >= 0), the rows compute floor(P f + c) per lane as
//   vcvtdq2ps (P is exact in float), vfmadd with round-down, vcvtps2dq with round-down.
// That is the floor of the exact real P f + c: rounding down lands in [floor(y), y] because
// floor(y) is itself a float while |y| < 2^24, and beyond that both sides saturate alike.
//
// Writing f = F / 2^s (F the 24-bit significand) and c = K / 2^s, floor(P f + c) is
// (P F + K) >> s, so prepare works in integers: f is the float nearest the real multiplier
// (or one ulp away), and for each sign of P, K must satisfy, for every input pair,
//   K >= min(t, 127) 2^s - P F         where t > -128   (floor(y) reaches t, or 127)
//   K <  (max(t, -128) + 1) 2^s - P F  where t <  127   (floor(y) stays at t, or at -128)
// so that the int8 saturation and any activation clamp give the scalar spec's output. The
// form exists when both intervals hold a K that is a float (24 significant bits); prepare
// evaluates t for all 65,536 pairs. Double rounding's sign correction is a jump at P = 0,
// which is why the two signs get their own constant.
#pragma once

#include <cmath>
#include <cstdint>

#include "qkern/core/multiplier.hpp"

namespace qkern {

struct int8_mul_float_form {
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

inline int bit_length(std::uint64_t v) noexcept {
  int n = 0;
  for (; v != 0; v >>= 1) ++n;
  return n;
}

// A K in [lo, hi] with at most 24 significant bits (so K / 2^s is a float), near 0.
inline bool pick_float_numerator(const integer_interval& range, std::int64_t& k) noexcept {
  if (range.empty()) return false;
  if (range.lo <= 0 && range.hi >= 0) {  // also the unconstrained interval of a sign no pair has
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

// Narrows the K intervals of each sign of P for significand F and s fractional bits.
template <class RawOutput>
void float_form_intervals(const RawOutput& raw_output, std::int32_t input1_offset, std::int32_t input2_offset,
                          std::int64_t significand, int fraction_bits, integer_interval& negative,
                          integer_interval& nonnegative) noexcept {
  const std::int64_t one = std::int64_t{1} << fraction_bits;
  for (int x1 = -128; x1 < 128; ++x1) {
    const std::int32_t a = x1 + input1_offset;
    for (int x2 = -128; x2 < 128; ++x2) {
      const std::int32_t product = a * (x2 + input2_offset);
      const std::int64_t t = raw_output(product);
      const std::int64_t scaled = std::int64_t{product} * significand;
      integer_interval& range = product < 0 ? negative : nonnegative;
      if (t > -128) {
        const std::int64_t need = (t < 127 ? t : 127) * one - scaled;
        if (need > range.lo) range.lo = need;
      }
      if (t < 127) {
        const std::int64_t limit = ((t > -128 ? t : -128) + 1) * one - scaled - 1;
        if (limit < range.hi) range.hi = limit;
      }
    }
  }
}

}  // namespace detail

// The float form of `raw_output(P)` (the scalar spec's Policy::multiply(P, m) + zero point) for
// the multiplier m and the input offsets; .valid is false where it does not exist. Multipliers
// outside [2^-22, 2^7) are left to the integer rows: the integer arithmetic above needs
// s <= 45, and |P f + c| stays below 2^24.
template <class RawOutput>
int8_mul_float_form make_int8_mul_float_form(const RawOutput& raw_output, quantized_multiplier m,
                                             std::int32_t input1_offset, std::int32_t input2_offset) noexcept {
  int8_mul_float_form form;
  if (m.multiplier < (std::int32_t{1} << 30) || m.shift < -21 || m.shift > 7) return form;
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
    detail::integer_interval negative, nonnegative;
    detail::float_form_intervals(raw_output, input1_offset, input2_offset, significand, fraction_bits, negative,
                                 nonnegative);
    const detail::integer_interval both{negative.lo > nonnegative.lo ? negative.lo : nonnegative.lo,
                                        negative.hi < nonnegative.hi ? negative.hi : nonnegative.hi};
    std::int64_t k_negative = 0, k_nonnegative = 0;
    if (detail::pick_float_numerator(both, k_nonnegative)) {
      k_negative = k_nonnegative;
    } else if (!detail::pick_float_numerator(negative, k_negative) ||
               !detail::pick_float_numerator(nonnegative, k_nonnegative)) {
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

}  // namespace qkern
