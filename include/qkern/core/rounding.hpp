// Rounding policies: how a build of TFLite multiplies an integer accumulator by a real factor.
//
// A policy is a type passed as a template parameter to every kernel. It owns
//   - multiplier_type: how the real factor is stored;
//   - quantize(real): the prepare-time conversion, identical to that build's QuantizeMultiplier;
//   - multiply(int32 acc, m) and multiply(int64 acc, m): the eval-time product;
//   - multiply_smaller_than_one_exp(x, m): the variant Add/Sub/comparisons call (shift <= 0).
// A float-scale policy (XNNPACK's fp32 requantization) fits beside these with a float
// multiplier_type; kernels only ever go through these names.
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include "qkern/core/fixed_point.hpp"
#include "qkern/core/multiplier.hpp"
#include "qkern/core/status.hpp"

namespace qkern {
namespace detail {

// TFLite's int64-accumulator multiply (int16x8 conv/FC), the same in both builds: the
// multiplier is reduced to 16 bits (rounded, saturating at 0x7FFF) and one round-half-up
// shift by 15 - shift follows. Precondition: |x| < 2^47, shift in [-31, 7].
constexpr std::int32_t multiply_int64_by_reduced_multiplier(std::int64_t x, quantized_multiplier m) noexcept {
  const std::int64_t reduced =
      m.multiplier < 0x7FFF0000 ? (static_cast<std::int64_t>(m.multiplier) + (1 << 15)) >> 16 : 0x7FFF;
  const int total_shift = 15 - m.shift;
  const std::int64_t rounded = x * reduced + (std::int64_t{1} << (total_shift - 1));
  return static_cast<std::int32_t>(rounded >> total_shift);
}

// A positive shift: TFLite shifts x left first, then takes the doubling high multiply, which
// rounds once (half up): round(x * 2^shift * m / 2^31). TFLite requires x * 2^shift to fit in
// int32 (it is UB otherwise). Here the same value is formed from the exact 64-bit product, so it
// is identical inside that contract and, outside it, saturates the result rather than wrapping.
constexpr std::int32_t multiply_left_shifted(std::int32_t x, quantized_multiplier m) noexcept {
  const std::int64_t product = static_cast<std::int64_t>(x) * m.multiplier;  // |product| < 2^62
  if (m.shift <= 30) {
    const int right_shift = 31 - m.shift;
    return saturating_cast<std::int32_t>((product + (std::int64_t{1} << (right_shift - 1))) >> right_shift);
  }
  return saturating_cast<std::int32_t>(saturating_left_shift(product, m.shift - 31));
}

}  // namespace detail

// TFLite's default: a doubling high multiply (rounds half up) followed by a rounding right
// shift (rounds half away from zero). Two roundings.
struct double_rounding {
  using multiplier_type = quantized_multiplier;
  static constexpr const char* name = "double";

  static constexpr result<quantized_multiplier> quantize(double real) noexcept {
    return detail::quantize_multiplier_q31(real, std::numeric_limits<int>::max());
  }

  // multiply(acc, m): an int32 (or narrower) accumulator takes the int32 path, an int64 one the
  // int64 path.
  template <class Accumulator>
  static constexpr std::int32_t multiply(Accumulator x, quantized_multiplier m) noexcept {
    static_assert(std::is_integral<Accumulator>::value && std::is_signed<Accumulator>::value,
                  "accumulators are signed integers");
    if constexpr (sizeof(Accumulator) > sizeof(std::int32_t)) {
      return detail::multiply_int64_by_reduced_multiplier(x, m);
    } else if (m.shift > 0) {
      return detail::multiply_left_shifted(std::int32_t{x}, m);
    } else {
      return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(std::int32_t{x}, m.multiplier), -m.shift);
    }
  }
  static constexpr std::int32_t multiply_smaller_than_one_exp(std::int32_t x, quantized_multiplier m) noexcept {
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x, m.multiplier), -m.shift);
  }
};

// TFLite built with TFLITE_SINGLE_ROUNDING: one 64-bit product and one round-half-up shift.
// Shifts are capped at 30 by quantize (the multiply needs 31 - shift >= 1).
struct single_rounding {
  using multiplier_type = quantized_multiplier;
  static constexpr const char* name = "single";

  static constexpr result<quantized_multiplier> quantize(double real) noexcept {
    return detail::quantize_multiplier_q31(real, 30);
  }

  // As double_rounding::multiply, the accumulator's width picks the path. Precondition: shift
  // in [-31, 30] (what quantize produces). A result outside int32 (TFLite only DCHECKs it)
  // saturates.
  template <class Accumulator>
  static constexpr std::int32_t multiply(Accumulator x, quantized_multiplier m) noexcept {
    static_assert(std::is_integral<Accumulator>::value && std::is_signed<Accumulator>::value,
                  "accumulators are signed integers");
    if constexpr (sizeof(Accumulator) > sizeof(std::int32_t)) {
      return detail::multiply_int64_by_reduced_multiplier(x, m);
    } else {
      const int total_shift = 31 - m.shift;
      const std::int64_t rounded =
          static_cast<std::int64_t>(x) * m.multiplier + (std::int64_t{1} << (total_shift - 1));
      return saturating_cast<std::int32_t>(rounded >> total_shift);
    }
  }
  static constexpr std::int32_t multiply_smaller_than_one_exp(std::int32_t x, quantized_multiplier m) noexcept {
    return multiply(x, m);
  }
};

// quantize_multiplier<Policy>(real): the multiplier that Policy's build derives for `real`.
template <class Policy = double_rounding>
constexpr result<typename Policy::multiplier_type> quantize_multiplier(double real) noexcept {
  return Policy::quantize(real);
}

// TFLite's QuantizeMultiplierSmallerThanOneExp: real in (0, 1), so shift <= 0.
// A real within 2^-32 of 1 rounds up to 2^31 and renormalises to shift +1, which TFLite's
// CHECK rejects: that is an error here too.
template <class Policy = double_rounding>
constexpr result<quantized_multiplier> quantize_multiplier_smaller_than_one(double real) noexcept {
  if (!(real > 0.0 && real < 1.0)) {
    return status(status_code::invalid_multiplier, "real multiplier must lie strictly between 0 and 1");
  }
  const auto m = Policy::quantize(real);
  if (m.ok() && m->shift > 0) {
    return status(status_code::invalid_multiplier, "real multiplier rounds up to 1 (shift would be positive)");
  }
  return m;
}

// TFLite's QuantizeMultiplierGreaterThanOne: real > 1, so shift >= 0.
template <class Policy = double_rounding>
constexpr result<quantized_multiplier> quantize_multiplier_greater_than_one(double real) noexcept {
  if (!(real > 1.0) || !detail::is_finite(real)) {
    return status(status_code::invalid_multiplier, "real multiplier must be finite and greater than 1");
  }
  return Policy::quantize(real);
}

}  // namespace qkern
