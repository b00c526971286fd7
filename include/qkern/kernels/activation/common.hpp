// Small pieces the activation kernels share: element-type guards, the fixed output
// quantizations some activations require, signed multipliers, and the Q4.27 input rescale of
// TFLite Micro's int8 logistic and tanh.
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include "qkern/core/multiplier.hpp"
#include "qkern/core/quantization.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"

namespace qkern {
namespace detail {

template <class T>
inline constexpr bool is_int8_or_int16_activation =
    std::is_same<T, std::int8_t>::value || std::is_same<T, std::int16_t>::value;

// Element count of a unary activation's tensor (any rank up to 6, rank 0 is one element).
constexpr result<std::int64_t> activation_element_count(const shape& s) noexcept {
  QKERN_TRY(validate_shape(s, "input"));
  return s.element_count();
}

// The quantization an op's arithmetic assumes for its output (e.g. 1/256 and -128 for logistic).
constexpr status require_output_quantization(const quantization_params& output, float scale, std::int32_t zero_point,
                                             const char* scale_message, const char* zero_point_message) noexcept {
  if (output.zero_point != zero_point) {
    return status(status_code::unsupported_parameter, zero_point_message, "output", output.zero_point);
  }
  if (output.scale != scale) return status(status_code::unsupported_parameter, scale_message, "output");
  return {};
}

template <class T>
constexpr status require_zero_point_zero(const quantization_params& q, const char* subject) noexcept {
  if (std::is_same<T, std::int16_t>::value && q.zero_point != 0) {
    return status(status_code::unsupported_parameter, "int16 tensors must have zero point 0", subject, q.zero_point);
  }
  return {};
}

// TFLite's QuantizeMultiplier also takes negative reals (leaky_relu with a negative alpha): the
// mantissa is rounded symmetrically, so the multiplier is the negated one of |real|.
template <class Policy>
constexpr result<typename Policy::multiplier_type> quantize_signed_multiplier(double real) noexcept {
  if (!(real < 0.0)) return Policy::quantize(real);
  auto m = Policy::quantize(-real);
  if (!m.ok()) return m;
  typename Policy::multiplier_type negated = *m;
  negated.multiplier = -negated.multiplier;
  return negated;
}

// TFLite Micro's int8 logistic/tanh bring (q - zero_point) to Q4.27 with a left-shifting
// multiply: s_in · 2^27 = mantissa · 2^left_shift, mantissa in [1/2, 1) as a Q31 multiplier.
// Inputs at least input_range_radius away from the zero point saturate; below it
// |q - zp| · 2^left_shift < 15 · 2^27 keeps the multiply inside int32.
struct q4_27_input_rescale {
  std::int32_t input_zero_point = 0;
  std::int32_t input_range_radius = 0;
  quantized_multiplier input_multiplier{};  // shift = TFLite's input_left_shift (>= 0)
};

constexpr result<q4_27_input_rescale> make_q4_27_input_rescale(const quantization_params& input) noexcept {
  q4_27_input_rescale r;
  r.input_zero_point = input.zero_point;
  // s_in is a float, so s_in · 2^27 is exact and its mantissa has at most 24 significant bits:
  // mantissa · 2^31 is a whole number below 2^31, no rounding happens.
  const mantissa_exponent me = frexp_positive(static_cast<double>(input.scale) * 134217728.0);
  if (me.exponent < 0) {
    return status(status_code::unsupported_parameter,
                  "input scale below 2^-28: the Q4.27 rescale would need a right shift", "input");
  }
  r.input_multiplier = {static_cast<std::int32_t>(me.mantissa * 2147483648.0 + 0.5), me.exponent};
  // floor(15 · 2^27 / 2^left_shift): the largest |q - zp| that stays below 15 in Q4.27.
  const int shift = me.exponent;
  r.input_range_radius = shift <= 27 ? (15 << (27 - shift)) : (shift - 27 < 4 ? 15 >> (shift - 27) : 0);
  return r;
}

}  // namespace detail
}  // namespace qkern
