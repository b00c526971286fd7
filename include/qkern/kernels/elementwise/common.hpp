// Small pieces the elementwise kernels share: the final clamp, TFLite's "smaller than one"
// multiplier contract, and the element-type guards of prepare.
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include "qkern/core/quantization.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/core/status.hpp"

namespace qkern {
namespace detail {

// v clamped to [lo, hi] and narrowed to T; [lo, hi] lies inside T's range.
template <class T>
constexpr T clamp_narrow(std::int64_t v, std::int32_t lo, std::int32_t hi) noexcept {
  return static_cast<T>(v < lo ? lo : (v > hi ? hi : v));
}

// v clamped to T's full range and narrowed to T.
template <class T>
constexpr T saturate_narrow(std::int64_t v) noexcept {
  return clamp_narrow<T>(v, static_cast<std::int32_t>(std::numeric_limits<T>::min()),
                         static_cast<std::int32_t>(std::numeric_limits<T>::max()));
}

// TFLite's QuantizeMultiplierSmallerThanOneExp contract: real in (0, 1) *and* a quantized shift
// <= 0. A real within 2^-32 of 1 rounds up to 2^31 and renormalises to shift +1, which TFLite's
// CHECK rejects and the multiply_smaller_than_one_exp variants cannot apply. `message` says what
// the caller's parameters must satisfy.
template <class Policy>
constexpr result<typename Policy::multiplier_type> quantize_multiplier_below_one(double real, const char* message,
                                                                                 const char* subject) noexcept {
  if (!(real > 0.0 && real < 1.0)) return status(status_code::invalid_multiplier, message, subject);
  const auto m = Policy::quantize(real);
  if (!m.ok()) return m.error().about(subject);
  if (m->shift > 0) return status(status_code::invalid_multiplier, message, subject);
  return m;
}

// TFLite's int16 convention (enforced by TFLite's Add/Sub and TFLM's Mul): symmetric tensors.
template <class T>
constexpr status require_zero_point_zero_for_int16(const quantization_params& q, const char* subject) noexcept {
  if (std::is_same<T, std::int16_t>::value && q.zero_point != 0) {
    return status(status_code::unsupported_parameter, "int16 tensors must have zero point 0", subject, q.zero_point);
  }
  return {};
}

// The largest |q + offset| over int8 values q: the bound the fused requantization forms are
// derived for.
constexpr std::int32_t widest_int8_offset_value(std::int32_t offset) noexcept {
  return 127 + offset > 128 - offset ? 127 + offset : 128 - offset;
}

template <class T>
inline constexpr bool is_int8_or_int16 = std::is_same<T, std::int8_t>::value || std::is_same<T, std::int16_t>::value;

}  // namespace detail
}  // namespace qkern
