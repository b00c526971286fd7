// mul (int8, int16), with NumPy broadcasting and a fused activation.
//
// The product of the two offset values is in units of s1·s2; one Policy::multiply by
// s1·s2 / s_out (computed in double, any shift) brings it to output units.
//
//   auto p = qkern::prepare_mul<std::int8_t, qkern::single_rounding>(q1, shape1, q2, shape2, q_out);
//   if (p) qkern::mul(*p, in1, in2, out);
#pragma once

#include <cstdint>

#include "qkern/core/activation.hpp"
#include "qkern/core/broadcast.hpp"
#include "qkern/core/quantization.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/elementwise/binary_loop.hpp"
#include "qkern/kernels/elementwise/common.hpp"

namespace qkern {

template <class T, class Policy = double_rounding>
struct mul_params {
  static_assert(detail::is_int8_or_int16<T>, "mul is defined for int8 and int16");
  using element_type = T;
  using policy = Policy;
  using multiplier_type = typename Policy::multiplier_type;

  std::int32_t input1_offset = 0;  // -zero point of input1
  std::int32_t input2_offset = 0;  // -zero point of input2
  std::int32_t output_offset = 0;  // +zero point of the output
  multiplier_type output_multiplier{};
  std::int32_t output_activation_min = 0;
  std::int32_t output_activation_max = 0;
  broadcast_plan broadcast{};
};

// T is std::int8_t or std::int16_t (int16: every zero point must be 0, as TFLM's Prepare
// requires). Fails for invalid scales or zero points and shapes that do not broadcast.
template <class T, class Policy = double_rounding>
constexpr result<mul_params<T, Policy>> prepare_mul(const quantization_params& input1, const shape& input1_shape,
                                                    const quantization_params& input2, const shape& input2_shape,
                                                    const quantization_params& output,
                                                    fused_activation activation = fused_activation::none) noexcept {
  QKERN_TRY(validate_quantization<T>(input1, "input1"));
  QKERN_TRY(validate_quantization<T>(input2, "input2"));
  QKERN_TRY(validate_quantization<T>(output, "output"));
  QKERN_TRY(detail::require_zero_point_zero_for_int16<T>(input1, "input1"));
  QKERN_TRY(detail::require_zero_point_zero_for_int16<T>(input2, "input2"));
  QKERN_TRY(detail::require_zero_point_zero_for_int16<T>(output, "output"));

  mul_params<T, Policy> p;
  const auto plan = make_broadcast_plan(input1_shape, input2_shape);
  if (!plan.ok()) return plan.error().about("input1 and input2");
  p.broadcast = *plan;
  p.input1_offset = -input1.zero_point;
  p.input2_offset = -input2.zero_point;
  p.output_offset = output.zero_point;

  const double real = static_cast<double>(input1.scale) * static_cast<double>(input2.scale) /
                      static_cast<double>(output.scale);
  const auto m = Policy::quantize(real);
  if (!m.ok()) return m.error().about("output");
  p.output_multiplier = *m;

  const auto range = make_activation_range<T>(activation, output);
  if (!range.ok()) return range.error();
  p.output_activation_min = range->min;
  p.output_activation_max = range->max;
  return p;
}

// --- the scalar reference ---------------------------------------------------------------------

template <class T, class Policy>
constexpr T mul_element(const mul_params<T, Policy>& p, T a, T b) noexcept {
  // |product| <= 2^30 (int16 with zero point 0) or 255^2 (int8): it fits int32. The offset is
  // added in 64 bits: with a positive shift the rescaled product may saturate at INT32_MAX.
  const std::int32_t product = (a + p.input1_offset) * (b + p.input2_offset);
  const std::int64_t raw = std::int64_t{Policy::multiply(product, p.output_multiplier)} + p.output_offset;
  return detail::clamp_narrow<T>(raw, p.output_activation_min, p.output_activation_max);
}

namespace scalar {

template <class T, class Policy>
constexpr void mul(const mul_params<T, Policy>& p, const T* input1, const T* input2, T* output) noexcept {
  binary_loop(p.broadcast, input1, input2, output, [&p](T a, T b) { return mul_element(p, a, b); });
}

}  // namespace scalar

// output = activation(input1 * input2), broadcast; output holds p.broadcast.output_count elements.
template <class T, class Policy>
constexpr void mul(const mul_params<T, Policy>& p, const T* input1, const T* input2, T* output) noexcept {
  scalar::mul(p, input1, input2, output);
}

}  // namespace qkern
