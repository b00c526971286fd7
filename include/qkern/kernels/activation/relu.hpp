// relu, relu_n1_to_1 (int8, int16) and relu6 (int8, int16) as standalone activations.
//
// relu and relu_n1_to_1 rescale: out = clamp(zp_out + (q - zp_in) · s_in / s_out) to the
// quantized image of [0, inf) or [-1, 1] on the output (TFLite's ReluX; the multiplier is
// QuantizeMultiplier of the float32 quotient s_in / s_out and goes through the rounding policy).
// int16 tensors have zero point 0.
// relu6 follows TFLite Micro, which does not rescale: out = min(six, max(zero, q)) with zero the
// input zero point and six = 6.0 quantized with the *input* parameters; the output quantization
// is ignored (a converter gives it the input's).
//
//   auto p = qkern::prepare_relu<std::int8_t>(q_in, q_out, shape);
//   if (p) qkern::relu(*p, in, out);
#pragma once

#include <cstdint>
#include <limits>

#include "qkern/core/activation.hpp"
#include "qkern/core/quantization.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/activation/common.hpp"

namespace qkern {

// --- relu, relu_n1_to_1 ----------------------------------------------------------------------

template <class T, class Policy = double_rounding>
struct relu_params {
  static_assert(detail::is_int8_or_int16_activation<T>, "relu is defined for int8 and int16");
  using element_type = T;
  using policy = Policy;
  using multiplier_type = typename Policy::multiplier_type;

  std::int32_t input_zero_point = 0;
  std::int32_t output_zero_point = 0;
  multiplier_type output_multiplier{};  // s_in / s_out
  std::int32_t quantized_activation_min = 0;
  std::int32_t quantized_activation_max = 0;
  std::int64_t count = 0;
};

namespace detail {

template <class T, class Policy>
constexpr result<relu_params<T, Policy>> prepare_rescaling_relu(const quantization_params& input,
                                                                const quantization_params& output,
                                                                const shape& input_shape,
                                                                fused_activation clamp) noexcept {
  QKERN_TRY(validate_quantization<T>(input, "input"));
  QKERN_TRY(validate_quantization<T>(output, "output"));
  QKERN_TRY(require_zero_point_zero<T>(input, "input"));
  QKERN_TRY(require_zero_point_zero<T>(output, "output"));
  const auto count = activation_element_count(input_shape);
  if (!count.ok()) return count.error();
  relu_params<T, Policy> p;
  p.count = *count;
  p.input_zero_point = input.zero_point;
  p.output_zero_point = output.zero_point;
  // TFLite Micro divides the scales in float32 and widens the quotient.
  const auto m = Policy::quantize(static_cast<double>(input.scale / output.scale));
  if (!m.ok()) return m.error().about("output");
  p.output_multiplier = *m;
  // The clamp bounds are zp_out + round(bound / s_out) in float32, as for fused activations.
  const auto range = make_activation_range<T>(clamp, output);
  if (!range.ok()) return range.error();
  p.quantized_activation_min = range->min;
  p.quantized_activation_max = range->max;
  return p;
}

}  // namespace detail

// Fails for invalid quantizations, int16 zero points other than 0, or a ratio s_in / s_out the
// policy cannot quantize.
template <class T, class Policy = double_rounding>
constexpr result<relu_params<T, Policy>> prepare_relu(const quantization_params& input,
                                                      const quantization_params& output,
                                                      const shape& input_shape) noexcept {
  return detail::prepare_rescaling_relu<T, Policy>(input, output, input_shape, fused_activation::relu);
}

// As prepare_relu, with the output clamped to the quantized image of [-1, 1].
template <class T, class Policy = double_rounding>
constexpr result<relu_params<T, Policy>> prepare_relu_n1_to_1(const quantization_params& input,
                                                              const quantization_params& output,
                                                              const shape& input_shape) noexcept {
  return detail::prepare_rescaling_relu<T, Policy>(input, output, input_shape, fused_activation::relu_n1_to_1);
}

template <class T, class Policy>
constexpr T relu_element(const relu_params<T, Policy>& p, T q) noexcept {
  const std::int64_t v = std::int64_t{p.output_zero_point} + Policy::multiply(q - p.input_zero_point, p.output_multiplier);
  return static_cast<T>(v < p.quantized_activation_min ? p.quantized_activation_min
                                                       : (v > p.quantized_activation_max ? p.quantized_activation_max : v));
}

namespace scalar {

template <class T, class Policy>
constexpr void relu(const relu_params<T, Policy>& p, const T* input, T* output) noexcept {
  for (std::int64_t i = 0; i < p.count; ++i) output[i] = relu_element(p, input[i]);
}

template <class T, class Policy>
constexpr void relu_n1_to_1(const relu_params<T, Policy>& p, const T* input, T* output) noexcept {
  scalar::relu(p, input, output);  // the clamp range in p is what differs
}

}  // namespace scalar

// output[i] = relu(input[i]) for p.count elements (p from prepare_relu).
template <class T, class Policy>
constexpr void relu(const relu_params<T, Policy>& p, const T* input, T* output) noexcept {
  scalar::relu(p, input, output);
}

// output[i] = clamp(input[i], -1, 1) rescaled, for p.count elements (p from prepare_relu_n1_to_1).
template <class T, class Policy>
constexpr void relu_n1_to_1(const relu_params<T, Policy>& p, const T* input, T* output) noexcept {
  scalar::relu_n1_to_1(p, input, output);
}

// --- relu6 -----------------------------------------------------------------------------------

template <class T>
struct relu6_params {
  static_assert(detail::is_int8_or_int16_activation<T>, "relu6 is defined for int8 and int16");
  using element_type = T;

  T zero = 0;  // the input zero point
  T six = 0;   // 6.0 quantized with the input's scale and zero point, clamped to T
  std::int64_t count = 0;
};

// The output quantization is accepted for symmetry with the other activations but not used
// (TFLite Micro's relu6 does not rescale). Fails for an invalid input quantization.
template <class T>
constexpr result<relu6_params<T>> prepare_relu6(const quantization_params& input, const quantization_params& output,
                                                const shape& input_shape) noexcept {
  QKERN_TRY(validate_quantization<T>(input, "input"));
  QKERN_TRY(validate_quantization<T>(output, "output"));
  const auto count = detail::activation_element_count(input_shape);
  if (!count.ok()) return count.error();
  relu6_params<T> p;
  p.count = *count;
  constexpr std::int32_t lowest = std::numeric_limits<T>::min();
  constexpr std::int32_t highest = std::numeric_limits<T>::max();
  p.zero = static_cast<T>(input.zero_point);
  p.six = static_cast<T>(detail::clamp_to(detail::quantize_activation_bound(6.0f, input), lowest, highest));
  return p;
}

template <class T>
constexpr T relu6_element(const relu6_params<T>& p, T q) noexcept {
  return q > p.six ? p.six : (q < p.zero ? p.zero : q);
}

namespace scalar {

template <class T>
constexpr void relu6(const relu6_params<T>& p, const T* input, T* output) noexcept {
  for (std::int64_t i = 0; i < p.count; ++i) output[i] = relu6_element(p, input[i]);
}

}  // namespace scalar

// output[i] = min(six, max(zero, input[i])) for p.count elements.
template <class T>
constexpr void relu6(const relu6_params<T>& p, const T* input, T* output) noexcept {
  scalar::relu6(p, input, output);
}

}  // namespace qkern
