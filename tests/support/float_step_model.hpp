// The integer model of a float_step_form (core/float_step_form.hpp), for tests: with
// f = F / 2^s (F the 24-bit significand) and c = K / 2^s, floor(n f + c) is
// floor((n F + K) / 2^s), evaluated exactly in int64 from the floats the search chose.
#pragma once

#include <cmath>
#include <cstdint>

#include "qkern/core/float_step_form.hpp"

namespace qkern_test {

struct float_step_model {
  std::int64_t significand = 0;
  int fraction_bits = 0;
  double k_negative = 0.0;
  double k_nonnegative = 0.0;

  explicit float_step_model(const qkern::float_step_form& f) noexcept {
    int exponent = 0;
    const double mantissa = std::frexp(static_cast<double>(f.multiplier), &exponent);
    fraction_bits = 24 - exponent;
    significand = static_cast<std::int64_t>(std::ldexp(mantissa, 24));
    k_negative = std::ldexp(static_cast<double>(f.constant_negative), fraction_bits);
    k_nonnegative = std::ldexp(static_cast<double>(f.constant_nonnegative), fraction_bits);
  }

  // Both constants are whole multiples of 2^-s (else the model does not describe the floats).
  bool exact() const noexcept { return k_negative == std::floor(k_negative) && k_nonnegative == std::floor(k_nonnegative); }

  // floor(n f + c), c by the sign of n.
  std::int64_t floor(std::int64_t n) const noexcept {
    const auto k = static_cast<std::int64_t>(n < 0 ? k_negative : k_nonnegative);
    const std::int64_t y = n * significand + k;
    const std::int64_t unit = std::int64_t{1} << fraction_bits;
    return y >= 0 ? y >> fraction_bits : -((-y + unit - 1) >> fraction_bits);
  }
};

}  // namespace qkern_test
