// leaky_relu (int8, int16): x for x >= 0, alpha · x below, each branch with its own multiplier.
//
// Both multipliers are TFLite's QuantizeMultiplier of float32 ratios: s_in / s_out and
// s_in · alpha / s_out (alpha may be negative or above 1). The multiplies go through the rounding
// policy, so the result depends on it.
//
//   auto p = qkern::prepare_leaky_relu<std::int8_t, qkern::single_rounding>(q_in, q_out, 0.1f, shape);
//   if (p) qkern::leaky_relu(*p, in, out);
#pragma once

#include <cstdint>
#include <limits>

#include "qkern/core/quantization.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/activation/common.hpp"

namespace qkern {

template <class T, class Policy = double_rounding>
struct leaky_relu_params {
  static_assert(detail::is_int8_or_int16_activation<T>, "leaky_relu is defined for int8 and int16");
  using element_type = T;
  using policy = Policy;
  using multiplier_type = typename Policy::multiplier_type;

  std::int32_t input_zero_point = 0;
  std::int32_t output_zero_point = 0;
  multiplier_type output_multiplier_identity{};  // s_in / s_out, for q >= zp
  multiplier_type output_multiplier_alpha{};     // s_in · alpha / s_out, for q < zp (may be negative)
  std::int64_t count = 0;
};

// alpha is the op's float attribute. Fails for invalid quantizations, a NaN or infinite alpha,
// and ratios the policy cannot quantize.
template <class T, class Policy = double_rounding>
constexpr result<leaky_relu_params<T, Policy>> prepare_leaky_relu(const quantization_params& input,
                                                                  const quantization_params& output, float alpha,
                                                                  const shape& input_shape) noexcept {
  QKERN_TRY(validate_quantization<T>(input, "input"));
  QKERN_TRY(validate_quantization<T>(output, "output"));
  if (!(alpha == alpha) || alpha > std::numeric_limits<float>::max() || alpha < -std::numeric_limits<float>::max()) {
    return status(status_code::invalid_argument, "alpha is NaN or infinite", "alpha");
  }
  const auto count = detail::activation_element_count(input_shape);
  if (!count.ok()) return count.error();
  leaky_relu_params<T, Policy> p;
  p.count = *count;
  p.input_zero_point = input.zero_point;
  p.output_zero_point = output.zero_point;
  // float32 products and quotients, widened afterwards, as in TFLite.
  const auto alpha_multiplier =
      detail::quantize_signed_multiplier<Policy>(static_cast<double>(input.scale * alpha / output.scale));
  if (!alpha_multiplier.ok()) return alpha_multiplier.error().about("alpha");
  const auto identity_multiplier = Policy::quantize(static_cast<double>(input.scale / output.scale));
  if (!identity_multiplier.ok()) return identity_multiplier.error().about("output");
  p.output_multiplier_alpha = *alpha_multiplier;
  p.output_multiplier_identity = *identity_multiplier;
  return p;
}

// --- the scalar reference ---------------------------------------------------------------------

template <class T, class Policy>
constexpr T leaky_relu_element(const leaky_relu_params<T, Policy>& p, T q) noexcept {
  const std::int32_t x = q - p.input_zero_point;
  const auto& m = x >= 0 ? p.output_multiplier_identity : p.output_multiplier_alpha;
  const std::int64_t v = std::int64_t{Policy::multiply(x, m)} + p.output_zero_point;
  constexpr std::int64_t lowest = std::numeric_limits<T>::min();
  constexpr std::int64_t highest = std::numeric_limits<T>::max();
  return static_cast<T>(v < lowest ? lowest : (v > highest ? highest : v));
}

namespace scalar {

template <class T, class Policy>
constexpr void leaky_relu(const leaky_relu_params<T, Policy>& p, const T* input, T* output) noexcept {
  for (std::int64_t i = 0; i < p.count; ++i) output[i] = leaky_relu_element(p, input[i]);
}

}  // namespace scalar

// output[i] = leaky_relu(input[i]) for p.count elements.
template <class T, class Policy>
constexpr void leaky_relu(const leaky_relu_params<T, Policy>& p, const T* input, T* output) noexcept {
  scalar::leaky_relu(p, input, output);
}

}  // namespace qkern
