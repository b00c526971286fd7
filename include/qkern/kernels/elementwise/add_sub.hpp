// add and sub (int8, int16), with NumPy broadcasting and a fused activation.
//
// Both inputs are brought to a common scale first: each offset value is shifted left by
// `left_shift` (20 for int8, 15 for int16) for headroom and multiplied by s_i / (2·max(s1, s2)),
// a multiplier <= 1/2. The sum (or difference) is then rescaled by
// 2·max(s1, s2) / (2^left_shift · s_out), which must be < 1. All three products use
// Policy::multiply_smaller_than_one_exp, as TFLite's Add/Sub do.
//
//   auto p = qkern::prepare_add<std::int8_t>(q1, shape1, q2, shape2, q_out, fused_activation::relu);
//   if (p) qkern::add(*p, in1, in2, out);   // out holds p->broadcast.output_count elements
#pragma once

#include <cstdint>
#include <limits>

#include "qkern/core/activation.hpp"
#include "qkern/core/broadcast.hpp"
#include "qkern/core/quantization.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/elementwise/binary_loop.hpp"
#include "qkern/kernels/elementwise/common.hpp"

namespace qkern {
namespace detail {

// The fields add and sub share (TFLite's ArithmeticParams for these ops).
template <class T, class Policy>
struct add_sub_fields {
  static_assert(is_int8_or_int16<T>, "add and sub are defined for int8 and int16");
  using element_type = T;
  using policy = Policy;
  using multiplier_type = typename Policy::multiplier_type;

  int left_shift = 0;              // 20 (int8) or 15 (int16)
  std::int32_t input1_offset = 0;  // -zero point of input1
  std::int32_t input2_offset = 0;  // -zero point of input2
  multiplier_type input1_multiplier{};
  multiplier_type input2_multiplier{};
  std::int32_t output_offset = 0;  // +zero point of the output
  multiplier_type output_multiplier{};
  std::int32_t output_activation_min = 0;
  std::int32_t output_activation_max = 0;
  bool requires_broadcast = false;  // TFLite's flag: the two input shapes differ
  broadcast_plan broadcast{};
};

template <class T>
inline constexpr int add_sub_left_shift = std::is_same<T, std::int8_t>::value ? 20 : 15;

// `single_precision`: TFLM's Sub forms the real multipliers with float32 divisions (then widens
// them), Add with double ones; the two can differ in the multiplier's last bits.
template <class Params, bool single_precision>
constexpr result<Params> prepare_add_sub(const quantization_params& input1, const shape& input1_shape,
                                         const quantization_params& input2, const shape& input2_shape,
                                         const quantization_params& output, fused_activation activation) noexcept {
  using T = typename Params::element_type;
  using Policy = typename Params::policy;
  QKERN_TRY(validate_quantization<T>(input1, "input1"));
  QKERN_TRY(validate_quantization<T>(input2, "input2"));
  QKERN_TRY(validate_quantization<T>(output, "output"));
  QKERN_TRY(require_zero_point_zero_for_int16<T>(input1, "input1"));
  QKERN_TRY(require_zero_point_zero_for_int16<T>(input2, "input2"));
  QKERN_TRY(require_zero_point_zero_for_int16<T>(output, "output"));

  Params p;
  const auto plan = make_broadcast_plan(input1_shape, input2_shape);
  if (!plan.ok()) return plan.error().about("input1 and input2");
  p.broadcast = *plan;
  p.requires_broadcast = input1_shape != input2_shape;

  p.left_shift = add_sub_left_shift<T>;
  p.input1_offset = -input1.zero_point;
  p.input2_offset = -input2.zero_point;
  p.output_offset = output.zero_point;

  double real1 = 0.0;
  double real2 = 0.0;
  double real_out = 0.0;
  if constexpr (single_precision) {
    constexpr float float_max = std::numeric_limits<float>::max();
    const float max_scale = input1.scale > input2.scale ? input1.scale : input2.scale;
    if (max_scale > float_max / 2.0f) {
      return status(status_code::invalid_scale, "scale is too large: 2 * scale overflows float32",
                    input1.scale > input2.scale ? "input1" : "input2");
    }
    const float pot = static_cast<float>(1 << p.left_shift);
    if (output.scale > float_max / pot) {
      return status(status_code::invalid_scale, "scale is too large: 2^left_shift * scale overflows float32",
                    "output");
    }
    const float twice_max = 2.0f * max_scale;
    real1 = static_cast<double>(input1.scale / twice_max);
    real2 = static_cast<double>(input2.scale / twice_max);
    real_out = static_cast<double>(twice_max / (pot * output.scale));
  } else {
    const double twice_max = 2.0 * static_cast<double>(input1.scale > input2.scale ? input1.scale : input2.scale);
    real1 = static_cast<double>(input1.scale) / twice_max;
    real2 = static_cast<double>(input2.scale) / twice_max;
    real_out = twice_max / (static_cast<double>(1 << p.left_shift) * static_cast<double>(output.scale));
  }

  constexpr const char* input_message =
      "scale is too small relative to the other input's: its multiplier underflows to 0";
  const auto m1 = quantize_multiplier_below_one<Policy>(real1, input_message, "input1");
  if (!m1.ok()) return m1.error();
  const auto m2 = quantize_multiplier_below_one<Policy>(real2, input_message, "input2");
  if (!m2.ok()) return m2.error();
  if (!(real_out > 0.0)) {
    return status(status_code::invalid_scale,
                  "scale is too large relative to the input scales: the output multiplier underflows to 0",
                  "output");
  }
  const auto mo = quantize_multiplier_below_one<Policy>(
      real_out,
      "scale is too small: it must exceed 2 * max(input scales) / 2^left_shift (20 for int8, 15 for int16) so that "
      "the output multiplier is below 1",
      "output");
  if (!mo.ok()) return mo.error();
  p.input1_multiplier = *m1;
  p.input2_multiplier = *m2;
  p.output_multiplier = *mo;

  const auto range = make_activation_range<T>(activation, output);
  if (!range.ok()) return range.error();
  p.output_activation_min = range->min;
  p.output_activation_max = range->max;
  return p;
}

// One input's value on the common scale. |q + offset| <= 255 (int8) or 2^15 (int16, zero point
// 0), so the pre-shifted value stays below 2^30 and no step of add/sub can overflow int32.
template <class Policy, class M>
constexpr std::int32_t add_sub_rescale(std::int32_t q, std::int32_t offset, int left_shift, const M& m) noexcept {
  return Policy::multiply_smaller_than_one_exp((q + offset) * (1 << left_shift), m);
}

}  // namespace detail

template <class T, class Policy = double_rounding>
struct add_params : detail::add_sub_fields<T, Policy> {};

template <class T, class Policy = double_rounding>
struct sub_params : detail::add_sub_fields<T, Policy> {};

// T is std::int8_t or std::int16_t (int16: every zero point must be 0). Fails for invalid
// scales or zero points, shapes that do not broadcast, or an output scale at or below
// 2·max(s1, s2) / 2^left_shift (the output multiplier must be < 1).
template <class T, class Policy = double_rounding>
constexpr result<add_params<T, Policy>> prepare_add(const quantization_params& input1, const shape& input1_shape,
                                                    const quantization_params& input2, const shape& input2_shape,
                                                    const quantization_params& output,
                                                    fused_activation activation = fused_activation::none) noexcept {
  return detail::prepare_add_sub<add_params<T, Policy>, false>(input1, input1_shape, input2, input2_shape, output,
                                                               activation);
}

// As prepare_add; computes input1 - input2.
template <class T, class Policy = double_rounding>
constexpr result<sub_params<T, Policy>> prepare_sub(const quantization_params& input1, const shape& input1_shape,
                                                    const quantization_params& input2, const shape& input2_shape,
                                                    const quantization_params& output,
                                                    fused_activation activation = fused_activation::none) noexcept {
  return detail::prepare_add_sub<sub_params<T, Policy>, true>(input1, input1_shape, input2, input2_shape, output,
                                                              activation);
}

// --- the scalar reference ---------------------------------------------------------------------

template <class T, class Policy>
constexpr T add_element(const add_params<T, Policy>& p, T a, T b) noexcept {
  const std::int32_t v1 = detail::add_sub_rescale<Policy>(a, p.input1_offset, p.left_shift, p.input1_multiplier);
  const std::int32_t v2 = detail::add_sub_rescale<Policy>(b, p.input2_offset, p.left_shift, p.input2_multiplier);
  const std::int32_t raw = Policy::multiply_smaller_than_one_exp(v1 + v2, p.output_multiplier) + p.output_offset;
  return detail::clamp_narrow<T>(raw, p.output_activation_min, p.output_activation_max);
}

template <class T, class Policy>
constexpr T sub_element(const sub_params<T, Policy>& p, T a, T b) noexcept {
  const std::int32_t v1 = detail::add_sub_rescale<Policy>(a, p.input1_offset, p.left_shift, p.input1_multiplier);
  const std::int32_t v2 = detail::add_sub_rescale<Policy>(b, p.input2_offset, p.left_shift, p.input2_multiplier);
  const std::int32_t raw = Policy::multiply_smaller_than_one_exp(v1 - v2, p.output_multiplier) + p.output_offset;
  return detail::clamp_narrow<T>(raw, p.output_activation_min, p.output_activation_max);
}

namespace scalar {

template <class T, class Policy>
constexpr void add(const add_params<T, Policy>& p, const T* input1, const T* input2, T* output) noexcept {
  binary_loop(p.broadcast, input1, input2, output, [&p](T a, T b) { return add_element(p, a, b); });
}

template <class T, class Policy>
constexpr void sub(const sub_params<T, Policy>& p, const T* input1, const T* input2, T* output) noexcept {
  binary_loop(p.broadcast, input1, input2, output, [&p](T a, T b) { return sub_element(p, a, b); });
}

}  // namespace scalar

// --- the public eval ------------------------------------------------------------------------

// output = activation(input1 + input2), broadcast; output holds p.broadcast.output_count elements.
template <class T, class Policy>
constexpr void add(const add_params<T, Policy>& p, const T* input1, const T* input2, T* output) noexcept {
  scalar::add(p, input1, input2, output);
}

// output = activation(input1 - input2), broadcast.
template <class T, class Policy>
constexpr void sub(const sub_params<T, Policy>& p, const T* input1, const T* input2, T* output) noexcept {
  scalar::sub(p, input1, input2, output);
}

}  // namespace qkern
