// squared_difference (int8), with NumPy broadcasting; no fused activation.
//
// As in add, both inputs are brought to a common scale (pre-shift 2^7, multiplier
// s_i / (2·max(s1, s2)) through Policy::multiply_smaller_than_one_exp); the difference is
// squared and rescaled with one Policy::multiply by (2·max)^2 / (2^14 · s_out).
//
//   auto p = qkern::prepare_squared_difference<std::int8_t>(q1, shape1, q2, shape2, q_out);
//   if (p) qkern::squared_difference(*p, in1, in2, out);
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include "qkern/core/broadcast.hpp"
#include "qkern/core/quantization.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/elementwise/binary_loop.hpp"
#include "qkern/kernels/elementwise/common.hpp"

namespace qkern {

template <class T, class Policy = double_rounding>
struct squared_difference_params {
  static_assert(std::is_same<T, std::int8_t>::value, "squared_difference is defined for int8");
  using element_type = T;
  using policy = Policy;
  using multiplier_type = typename Policy::multiplier_type;

  int left_shift = 7;
  std::int32_t input1_offset = 0;  // -zero point of input1
  std::int32_t input2_offset = 0;  // -zero point of input2
  multiplier_type input1_multiplier{};
  multiplier_type input2_multiplier{};
  std::int32_t output_offset = 0;  // +zero point of the output
  multiplier_type output_multiplier{};
  std::int32_t output_activation_min = std::numeric_limits<T>::min();
  std::int32_t output_activation_max = std::numeric_limits<T>::max();
  bool requires_broadcast = false;  // TFLite's flag: the two input shapes differ
  broadcast_plan broadcast{};
};

// Fails for invalid quantizations, shapes that do not broadcast, and an output scale so large
// that 2^14 · s_out overflows float32 (TFLM would silently get a zero multiplier).
template <class T, class Policy = double_rounding>
constexpr result<squared_difference_params<T, Policy>> prepare_squared_difference(
    const quantization_params& input1, const shape& input1_shape, const quantization_params& input2,
    const shape& input2_shape, const quantization_params& output) noexcept {
  QKERN_TRY(validate_quantization<T>(input1, "input1"));
  QKERN_TRY(validate_quantization<T>(input2, "input2"));
  QKERN_TRY(validate_quantization<T>(output, "output"));

  squared_difference_params<T, Policy> p;
  const auto plan = make_broadcast_plan(input1_shape, input2_shape);
  if (!plan.ok()) return plan.error().about("input1 and input2");
  p.broadcast = *plan;
  p.requires_broadcast = input1_shape != input2_shape;
  p.input1_offset = -input1.zero_point;
  p.input2_offset = -input2.zero_point;
  p.output_offset = output.zero_point;

  const double twice_max = 2.0 * static_cast<double>(input1.scale > input2.scale ? input1.scale : input2.scale);
  constexpr const char* input_message =
      "scale is too small relative to the other input's: its multiplier underflows to 0";
  const auto m1 = detail::quantize_multiplier_below_one<Policy>(static_cast<double>(input1.scale) / twice_max,
                                                                input_message, "input1");
  if (!m1.ok()) return m1.error();
  const auto m2 = detail::quantize_multiplier_below_one<Policy>(static_cast<double>(input2.scale) / twice_max,
                                                                input_message, "input2");
  if (!m2.ok()) return m2.error();
  p.input1_multiplier = *m1;
  p.input2_multiplier = *m2;

  // TFLM forms the denominator 2^14 · s_out in float32 (exact unless it overflows).
  constexpr float pot = static_cast<float>(1 << 14);
  if (output.scale > std::numeric_limits<float>::max() / pot) {
    return status(status_code::invalid_scale, "scale is too large: 2^14 * scale overflows float32", "output");
  }
  const double real_out = twice_max * twice_max / static_cast<double>(pot * output.scale);
  const auto mo = Policy::quantize(real_out);
  if (!mo.ok()) return mo.error().about("output");
  p.output_multiplier = *mo;
  return p;
}

// --- the scalar reference ---------------------------------------------------------------------

template <class T, class Policy>
constexpr T squared_difference_element(const squared_difference_params<T, Policy>& p, T a, T b) noexcept {
  const std::int32_t v1 = Policy::multiply_smaller_than_one_exp((a + p.input1_offset) * (1 << p.left_shift),
                                                                p.input1_multiplier);
  const std::int32_t v2 = Policy::multiply_smaller_than_one_exp((b + p.input2_offset) * (1 << p.left_shift),
                                                                p.input2_multiplier);
  // |v_i| <= 255 · 2^7 / 2 + 1, so the square stays below 2^30. The offset is added in 64 bits:
  // with a positive shift the rescaled square may saturate at INT32_MAX.
  const std::int32_t diff = v1 - v2;
  const std::int64_t raw = std::int64_t{Policy::multiply(diff * diff, p.output_multiplier)} + p.output_offset;
  return detail::clamp_narrow<T>(raw, p.output_activation_min, p.output_activation_max);
}

namespace scalar {

template <class T, class Policy>
constexpr void squared_difference(const squared_difference_params<T, Policy>& p, const T* input1, const T* input2,
                                  T* output) noexcept {
  binary_loop(p.broadcast, input1, input2, output,
              [&p](T a, T b) { return squared_difference_element(p, a, b); });
}

}  // namespace scalar

// output = (input1 - input2)^2, broadcast; output holds p.broadcast.output_count elements.
template <class T, class Policy>
constexpr void squared_difference(const squared_difference_params<T, Policy>& p, const T* input1, const T* input2,
                                  T* output) noexcept {
  scalar::squared_difference(p, input1, input2, output);
}

}  // namespace qkern
