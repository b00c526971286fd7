// quantize (float32 -> int8/int16), dequantize (int8/int16 -> float32) and requantize (an
// integer tensor to another quantization and/or integer type: TFLite's QUANTIZE op with an
// integer input). Unary, so no broadcasting: params carry the element count of the shape.
//
//   auto p = qkern::prepare_requantize<std::int8_t, std::int16_t>(q_in, q_out, shape);
//   if (p) qkern::requantize(*p, in, out);   // out holds p->count elements
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include "qkern/core/quantization.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/elementwise/common.hpp"

namespace qkern {

// --- quantize -------------------------------------------------------------------------------

template <class T>
struct quantize_params {
  static_assert(detail::is_int8_or_int16<T>, "quantize produces int8 or int16");
  using element_type = T;
  float scale = 1.0f;  // of the output
  std::int32_t zero_point = 0;
  std::int64_t count = 0;
};

template <class T>
constexpr result<quantize_params<T>> prepare_quantize(const quantization_params& output,
                                                      const shape& input_shape) noexcept {
  QKERN_TRY(validate_quantization<T>(output, "output"));
  QKERN_TRY(validate_shape(input_shape, "input"));
  quantize_params<T> p;
  p.scale = output.scale;
  p.zero_point = output.zero_point;
  p.count = input_shape.element_count();
  return p;
}

// clamp(round_half_away(x / scale) + zero_point). The division is a float32 division, as in
// TFLM. TFLite leaves |x / scale| >= 2^31 undefined (a float-to-int32 cast); here such values,
// and infinities, saturate to the type's bounds, and NaN quantizes to the zero point (real 0).
template <class T>
constexpr T quantize_element(const quantize_params<T>& p, float x) noexcept {
  const float quotient = x / p.scale;
  if (quotient != quotient) return static_cast<T>(p.zero_point);
  const float magnitude = quotient < 0.0f ? -quotient : quotient;
  std::int64_t rounded = std::int64_t{1} << 31;
  if (magnitude < 2147483648.0f) {
    // The integer part of a float below 2^31 is exact in float, and so is the fraction.
    const auto whole = static_cast<std::int64_t>(magnitude);
    rounded = whole + (magnitude - static_cast<float>(whole) >= 0.5f ? 1 : 0);
  }
  return detail::saturate_narrow<T>((quotient < 0.0f ? -rounded : rounded) + p.zero_point);
}

// --- dequantize -----------------------------------------------------------------------------

template <class T>
struct dequantize_params {
  static_assert(detail::is_int8_or_int16<T>, "dequantize reads int8 or int16");
  using element_type = T;
  float scale = 1.0f;  // of the input
  std::int32_t zero_point = 0;
  std::int64_t count = 0;
};

template <class T>
constexpr result<dequantize_params<T>> prepare_dequantize(const quantization_params& input,
                                                          const shape& input_shape) noexcept {
  QKERN_TRY(validate_quantization<T>(input, "input"));
  QKERN_TRY(validate_shape(input_shape, "input"));
  dequantize_params<T> p;
  p.scale = input.scale;
  p.zero_point = input.zero_point;
  p.count = input_shape.element_count();
  return p;
}

// float32(double(scale) · (q - zero_point)): a 24-bit scale times a 17-bit offset is exact in
// double, so there is one rounding, to float; a float32 product can differ in the last bit.
template <class T>
constexpr float dequantize_element(const dequantize_params<T>& p, T q) noexcept {
  return static_cast<float>(static_cast<double>(p.scale) * static_cast<double>(q - p.zero_point));
}

// --- requantize -----------------------------------------------------------------------------

// The type pairs TFLM's QUANTIZE op accepts for an integer input.
template <class In, class Out>
inline constexpr bool is_supported_requantize =
    (std::is_same<In, std::int8_t>::value &&
     (std::is_same<Out, std::int8_t>::value || std::is_same<Out, std::uint8_t>::value ||
      std::is_same<Out, std::int16_t>::value || std::is_same<Out, std::int32_t>::value)) ||
    (std::is_same<In, std::uint8_t>::value && std::is_same<Out, std::int8_t>::value) ||
    (std::is_same<In, std::int16_t>::value &&
     (std::is_same<Out, std::int8_t>::value || std::is_same<Out, std::int16_t>::value));

template <class In, class Out, class Policy = double_rounding>
struct requantize_params {
  static_assert(is_supported_requantize<In, Out>,
                "requantize supports int8->{int8, uint8, int16, int32}, uint8->int8, int16->{int8, int16}");
  using input_type = In;
  using output_type = Out;
  using policy = Policy;
  using multiplier_type = typename Policy::multiplier_type;

  std::int32_t input_zero_point = 0;
  std::int32_t output_zero_point = 0;
  multiplier_type effective_scale{};  // s_in / s_out
  // int8 <-> uint8 with equal scales and zero points 128 apart: TFLite's XOR 0x80 path.
  bool flip_sign_bit = false;
  std::int64_t count = 0;
};

template <class In, class Out, class Policy = double_rounding>
constexpr result<requantize_params<In, Out, Policy>> prepare_requantize(const quantization_params& input,
                                                                        const quantization_params& output,
                                                                        const shape& input_shape) noexcept {
  QKERN_TRY(validate_quantization<In>(input, "input"));
  QKERN_TRY(validate_quantization<Out>(output, "output"));
  QKERN_TRY(validate_shape(input_shape, "input"));
  requantize_params<In, Out, Policy> p;
  p.input_zero_point = input.zero_point;
  p.output_zero_point = output.zero_point;
  p.count = input_shape.element_count();
  const auto m = Policy::quantize(static_cast<double>(input.scale) / static_cast<double>(output.scale));
  if (!m.ok()) return m.error().about("output");
  p.effective_scale = *m;
  if constexpr (std::is_same<Out, std::int32_t>::value) {
    // TFLite's double-rounding multiply needs (q - zp) * 2^shift to fit int32 (it is UB beyond).
    // For 8/16-bit outputs a saturated product still clamps to the right bound; an int32 output
    // has no such slack, so ratios that could leave the contract are refused here.
    const std::int64_t below = std::int64_t{std::numeric_limits<In>::min()} - input.zero_point;
    const std::int64_t above = std::int64_t{std::numeric_limits<In>::max()} - input.zero_point;
    const std::int64_t largest = -below > above ? -below : above;
    if (m->shift > 0 && (m->shift >= 31 || (largest << m->shift) > std::numeric_limits<std::int32_t>::max())) {
      return status(status_code::overflow,
                    "scale ratio is too large for an int32 output: (q - input zero point) * 2^shift must fit int32",
                    "output", m->shift);
    }
  }
  // TFLite tests the quantized multiplier (exactly 1.0 is 2^30 · 2^1 / 2^31), not the scales.
  const bool unit_scale = m->multiplier == (std::int32_t{1} << 30) && m->shift == 1;
  const std::int32_t zero_point_difference = input.zero_point - output.zero_point;
  if constexpr (std::is_same<In, std::int8_t>::value && std::is_same<Out, std::uint8_t>::value) {
    p.flip_sign_bit = unit_scale && zero_point_difference == -128;
  } else if constexpr (std::is_same<In, std::uint8_t>::value && std::is_same<Out, std::int8_t>::value) {
    p.flip_sign_bit = unit_scale && zero_point_difference == 128;
  }
  return p;
}

// clamp(MBQM(q - zp_in, s_in / s_out) + zp_out) to Out's range.
template <class In, class Out, class Policy>
constexpr Out requantize_element(const requantize_params<In, Out, Policy>& p, In q) noexcept {
  if constexpr (std::is_same<In, std::int8_t>::value && std::is_same<Out, std::uint8_t>::value) {
    if (p.flip_sign_bit) return static_cast<Out>(q + 128);  // == q ^ 0x80 reinterpreted as uint8
  } else if constexpr (std::is_same<In, std::uint8_t>::value && std::is_same<Out, std::int8_t>::value) {
    if (p.flip_sign_bit) return static_cast<Out>(q - 128);  // == q ^ 0x80 reinterpreted as int8
  }
  const std::int32_t x = q - p.input_zero_point;
  // In 64 bits: the rescaled value may be near INT32_MAX (int32 output, or a saturated left shift).
  return detail::saturate_narrow<Out>(std::int64_t{Policy::multiply(x, p.effective_scale)} + p.output_zero_point);
}

// --- scalar reference and public eval -------------------------------------------------------

namespace scalar {

template <class T>
constexpr void quantize(const quantize_params<T>& p, const float* input, T* output) noexcept {
  for (std::int64_t i = 0; i < p.count; ++i) output[i] = quantize_element(p, input[i]);
}

template <class T>
constexpr void dequantize(const dequantize_params<T>& p, const T* input, float* output) noexcept {
  for (std::int64_t i = 0; i < p.count; ++i) output[i] = dequantize_element(p, input[i]);
}

template <class In, class Out, class Policy>
constexpr void requantize(const requantize_params<In, Out, Policy>& p, const In* input, Out* output) noexcept {
  for (std::int64_t i = 0; i < p.count; ++i) output[i] = requantize_element(p, input[i]);
}

}  // namespace scalar

// p.count elements each.
template <class T>
constexpr void quantize(const quantize_params<T>& p, const float* input, T* output) noexcept {
  scalar::quantize(p, input, output);
}

template <class T>
constexpr void dequantize(const dequantize_params<T>& p, const T* input, float* output) noexcept {
  scalar::dequantize(p, input, output);
}

template <class In, class Out, class Policy>
constexpr void requantize(const requantize_params<In, Out, Policy>& p, const In* input, Out* output) noexcept {
  scalar::requantize(p, input, output);
}

}  // namespace qkern
