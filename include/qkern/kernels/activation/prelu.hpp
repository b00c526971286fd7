// prelu (int8): x for x >= 0, alpha · x below, with alpha a quantized tensor that broadcasts
// NumPy-style (right-aligned) against the input; the output has the input's shape.
//
// Multipliers (TFLite's PreluParams, double arithmetic left to right): s_in / s_out for the
// identity branch and s_in · s_alpha / s_out for the product (q - zp_in) · (a - zp_alpha).
//
//   auto p = qkern::prepare_prelu<std::int8_t>(q_in, in_shape, q_alpha, alpha_shape, q_out);
//   if (p) qkern::prelu(*p, in, alpha, out);   // out holds p->broadcast.output_count elements
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

namespace qkern {

template <class T, class Policy = double_rounding>
struct prelu_params {
  static_assert(std::is_same<T, std::int8_t>::value, "prelu is defined for int8");
  using element_type = T;
  using policy = Policy;
  using multiplier_type = typename Policy::multiplier_type;

  std::int32_t input_offset = 0;   // -zero point of the input
  std::int32_t alpha_offset = 0;   // -zero point of alpha
  std::int32_t output_offset = 0;  // +zero point of the output
  multiplier_type output_multiplier_1{};  // s_in / s_out
  multiplier_type output_multiplier_2{};  // s_in · s_alpha / s_out
  broadcast_plan broadcast{};             // input (first) against alpha (second)
};

// Fails for invalid quantizations or shapes, and for an alpha shape that would broadcast the
// input to a larger shape (alpha must broadcast *to* the input's shape).
template <class T, class Policy = double_rounding>
constexpr result<prelu_params<T, Policy>> prepare_prelu(const quantization_params& input, const shape& input_shape,
                                                        const quantization_params& alpha, const shape& alpha_shape,
                                                        const quantization_params& output) noexcept {
  QKERN_TRY(validate_quantization<T>(input, "input"));
  QKERN_TRY(validate_quantization<T>(alpha, "alpha"));
  QKERN_TRY(validate_quantization<T>(output, "output"));
  prelu_params<T, Policy> p;
  const auto plan = make_broadcast_plan(input_shape, alpha_shape);
  if (!plan.ok()) return plan.error().about("input and alpha");
  if (plan->output != input_shape) {
    return status(status_code::not_broadcastable, "alpha must broadcast to the input's shape", "alpha");
  }
  p.broadcast = *plan;
  p.input_offset = -input.zero_point;
  p.alpha_offset = -alpha.zero_point;
  p.output_offset = output.zero_point;
  const double s_in = input.scale;
  const auto identity = Policy::quantize(s_in / static_cast<double>(output.scale));
  if (!identity.ok()) return identity.error().about("output");
  const auto product = Policy::quantize(s_in * static_cast<double>(alpha.scale) / static_cast<double>(output.scale));
  if (!product.ok()) return product.error().about("output");
  p.output_multiplier_1 = *identity;
  p.output_multiplier_2 = *product;
  return p;
}

// --- the scalar reference ---------------------------------------------------------------------

template <class T, class Policy>
constexpr T prelu_element(const prelu_params<T, Policy>& p, T q, T a) noexcept {
  const std::int32_t x = q + p.input_offset;
  const std::int32_t scaled = x >= 0 ? Policy::multiply(x, p.output_multiplier_1)
                                     : Policy::multiply(x * (a + p.alpha_offset), p.output_multiplier_2);
  const std::int64_t v = std::int64_t{scaled} + p.output_offset;
  constexpr std::int64_t lowest = std::numeric_limits<T>::min();
  constexpr std::int64_t highest = std::numeric_limits<T>::max();
  return static_cast<T>(v < lowest ? lowest : (v > highest ? highest : v));
}

namespace scalar {

template <class T, class Policy>
constexpr void prelu(const prelu_params<T, Policy>& p, const T* input, const T* alpha, T* output) noexcept {
  binary_loop(p.broadcast, input, alpha, output, [&p](T q, T a) { return prelu_element(p, q, a); });
}

}  // namespace scalar

// output = prelu(input, alpha), alpha broadcast to the input's shape.
template <class T, class Policy>
constexpr void prelu(const prelu_params<T, Policy>& p, const T* input, const T* alpha, T* output) noexcept {
  scalar::prelu(p, input, alpha, output);
}

}  // namespace qkern
