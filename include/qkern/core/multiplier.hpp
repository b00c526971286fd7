// Q31 multipliers: a real factor r stored as r = multiplier * 2^shift / 2^31, with
// multiplier in [2^30, 2^31) (or 0). shift > 0 is a left shift (TFLite's sign convention).
#pragma once

#include <cstdint>
#include <limits>

#include "qkern/core/status.hpp"

namespace qkern {

struct quantized_multiplier {
  std::int32_t multiplier = 0;
  int shift = 0;

  constexpr double real_value() const noexcept {
    double r = static_cast<double>(multiplier) / 2147483648.0;
    for (int i = 0; i < shift; ++i) r *= 2.0;
    for (int i = 0; i > shift; --i) r /= 2.0;
    return r;
  }
  friend constexpr bool operator==(const quantized_multiplier& a, const quantized_multiplier& b) noexcept {
    return a.multiplier == b.multiplier && a.shift == b.shift;
  }
  friend constexpr bool operator!=(const quantized_multiplier& a, const quantized_multiplier& b) noexcept {
    return !(a == b);
  }
};

namespace detail {

constexpr bool is_finite(double x) noexcept {
  return x == x && x <= std::numeric_limits<double>::max() && x >= -std::numeric_limits<double>::max();
}

struct mantissa_exponent {
  double mantissa;  // in [0.5, 1)
  int exponent;
};

// std::frexp for finite x > 0, usable in constant expressions. Scaling by powers of two is
// exact here: a value >= 2^64 stays normal when divided, a value < 1 stays finite when
// multiplied, so the mantissa is bit-identical to frexp's.
constexpr mantissa_exponent frexp_positive(double x) noexcept {
  int e = 0;
  constexpr double two64 = 18446744073709551616.0;
  while (x >= two64) { x /= two64; e += 64; }
  while (x < 1.0 / two64) { x *= two64; e -= 64; }
  while (x >= 1.0) { x /= 2.0; ++e; }
  while (x < 0.5) { x *= 2.0; --e; }
  return {x, e};
}

// TFLite's QuantizeMultiplier: frexp, mantissa * 2^31 rounded half away from zero,
// renormalised when that rounding reaches 2^31, and multipliers below 2^-32 (shift < -31)
// flushed to (0, 0). max_shift caps the shift by saturating to (2^31 - 1, max_shift), which is
// what single-rounding builds do for shifts above 30.
constexpr result<quantized_multiplier> quantize_multiplier_q31(double real, int max_shift) noexcept {
  if (!is_finite(real)) {
    return status(status_code::invalid_multiplier, "real multiplier is NaN or infinite");
  }
  if (real < 0.0) {
    return status(status_code::invalid_multiplier, "real multiplier is negative");
  }
  if (real == 0.0) return quantized_multiplier{0, 0};
  const mantissa_exponent me = frexp_positive(real);
  // mantissa * 2^31 lies in [2^30, 2^31) with an ulp of at most 2^-22, so adding 0.5 is
  // exact and truncation then rounds half away from zero.
  std::int64_t q = static_cast<std::int64_t>(me.mantissa * 2147483648.0 + 0.5);
  int shift = me.exponent;
  if (q == (std::int64_t{1} << 31)) {
    q /= 2;
    ++shift;
  }
  if (shift < -31) return quantized_multiplier{0, 0};
  if (shift > max_shift) return quantized_multiplier{std::numeric_limits<std::int32_t>::max(), max_shift};
  return quantized_multiplier{static_cast<std::int32_t>(q), shift};
}

}  // namespace detail
}  // namespace qkern
