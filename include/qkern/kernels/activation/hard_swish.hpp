// hard_swish (int8): x · relu6(x + 3) / 6, as TFLite's reference kernel computes it in 16-bit
// fixed point.
//
// The input is moved to a finer "hires" scale s_in/128 (q - zp fits int16 times 128). Two int16
// multipliers, each TFLite's QuantizeMultiplier rounded to 16 bits, rescale it: to the output
// scale, and to a "reluish" scale on which 3.0 is 32768, where it saturates to [-1, 1] and is
// mapped to relu6(x + 3)/6 in [0, 1]. Their product, shifted to the output scale, plus the output
// zero point is the result.
//
//   auto p = qkern::prepare_hard_swish<std::int8_t>(q_in, q_out, shape);
//   if (p) qkern::hard_swish(*p, in, out);
#pragma once

#include <cstdint>
#include <limits>

#include "qkern/core/fixed_point.hpp"
#include "qkern/core/quantization.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/activation/common.hpp"

#if QKERN_SIMD
#include "qkern/simd/arch.hpp"
#include "qkern/simd/byte_lookup.hpp"
#include "qkern/simd/constant_evaluation.hpp"
#endif

namespace qkern {

template <class T, class Policy = double_rounding>
struct hard_swish_params {
  static_assert(std::is_same<T, std::int8_t>::value, "hard_swish is defined for int8");
  using element_type = T;
  using policy = Policy;

  std::int32_t input_zero_point = 0;
  std::int32_t output_zero_point = 0;
  std::int16_t reluish_multiplier_fixedpoint_int16 = 0;
  int reluish_multiplier_exponent = 0;  // any sign
  std::int16_t output_multiplier_fixedpoint_int16 = 0;
  int output_multiplier_exponent = 0;  // <= 0
  std::int64_t count = 0;
  // hard_swish_element of every int8 input, indexed by its bit pattern (static_cast<std::uint8_t>(q)):
  // prepare fills it from the scalar reference itself, so the SIMD path's lookup is exact.
  std::int8_t table[256] = {};
};

namespace detail {

// A Q31 multiplier rounded to its 16 high bits (TFLite's DownScaleInt32ToInt16Multiplier).
constexpr std::int16_t downscale_multiplier_to_int16(std::int32_t multiplier) noexcept {
  if (multiplier >= std::numeric_limits<std::int32_t>::max() - (1 << 15)) return std::numeric_limits<std::int16_t>::max();
  return static_cast<std::int16_t>((multiplier + (1 << 15)) >> 16);
}

// x · 2^shift for int16, saturating (gemmlowp's ShiftLeft).
constexpr std::int16_t shift_left_saturating(std::int16_t x, int shift) noexcept {
  if (x == 0) return 0;
  if (shift >= 16) return static_cast<std::int16_t>(x > 0 ? 32767 : -32768);
  const std::int64_t wide = std::int64_t{x} * (std::int64_t{1} << shift);
  return static_cast<std::int16_t>(wide < -32768 ? -32768 : (wide > 32767 ? 32767 : wide));
}

// The int16 rounding right shift as gemmlowp computes it: for exponents 0..15 the usual
// round-to-nearest (ties away from zero); for 16..31 its mask (2^exponent - 1) truncates to the
// int16 -1, and the result collapses to +1 for x >= 0 and -1 for x < 0. TFLite's hard_swish
// reaches those exponents only for extreme scale ratios; this keeps it bit-exact there too.
constexpr std::int16_t rounding_divide_by_pot_as_gemmlowp_int16(std::int16_t x, int exponent) noexcept {
  if (exponent < 16) return rounding_divide_by_pot(x, exponent);
  return static_cast<std::int16_t>(x >= 0 ? 1 : -1);
}

// The int16 doubling high multiply that truncates instead of rounding (TFLite's
// SaturatingDoublingHighMul); only -32768 · -32768 saturates.
constexpr std::int16_t saturating_doubling_high_mul(std::int16_t a, std::int16_t b) noexcept {
  if (a == b && a == std::numeric_limits<std::int16_t>::min()) return std::numeric_limits<std::int16_t>::max();
  return static_cast<std::int16_t>((std::int32_t{a} * b) / (1 << 15));
}

}  // namespace detail

// Fails for invalid quantizations and for scales whose output multiplier would be a left shift
// (s_in / (128 · s_out) >= 1, which TFLite rejects).
template <class T, class Policy = double_rounding>
constexpr result<hard_swish_params<T, Policy>> prepare_hard_swish(const quantization_params& input,
                                                                  const quantization_params& output,
                                                                  const shape& input_shape) noexcept {
  QKERN_TRY(validate_quantization<T>(input, "input"));
  QKERN_TRY(validate_quantization<T>(output, "output"));
  const auto count = detail::activation_element_count(input_shape);
  if (!count.ok()) return count.error();
  hard_swish_params<T, Policy> p;
  p.count = *count;
  p.input_zero_point = input.zero_point;
  p.output_zero_point = output.zero_point;

  // The ratios are float32 divisions, widened afterwards, as in TFLite.
  const float hires_input_scale = (1.0f / 128.0f) * input.scale;
  const float reluish_scale = 3.0f / 32768.0f;
  const auto to_output = Policy::quantize(static_cast<double>(hires_input_scale / output.scale));
  if (!to_output.ok()) return to_output.error().about("output");
  if (to_output->shift > 0) {
    return status(status_code::unsupported_parameter,
                  "input scale / (128 · output scale) must be below 1 (the output multiplier is a right shift)",
                  "output", to_output->shift);
  }
  p.output_multiplier_fixedpoint_int16 = detail::downscale_multiplier_to_int16(to_output->multiplier);
  p.output_multiplier_exponent = to_output->shift;
  const auto to_reluish = Policy::quantize(static_cast<double>(hires_input_scale / reluish_scale));
  if (!to_reluish.ok()) return to_reluish.error().about("input");
  p.reluish_multiplier_fixedpoint_int16 = detail::downscale_multiplier_to_int16(to_reluish->multiplier);
  p.reluish_multiplier_exponent = to_reluish->shift;
  for (int q = -128; q <= 127; ++q) {
    p.table[static_cast<std::uint8_t>(q)] = hard_swish_element(p, static_cast<T>(q));
  }
  return p;
}

// --- the scalar reference ---------------------------------------------------------------------

template <class T, class Policy>
constexpr T hard_swish_element(const hard_swish_params<T, Policy>& p, T q) noexcept {
  const auto hires_input = static_cast<std::int16_t>((q - p.input_zero_point) * 128);  // |q - zp| <= 255
  const std::int16_t preshift_output =
      saturating_rounding_doubling_high_mul(hires_input, p.output_multiplier_fixedpoint_int16);

  // The reluish value: hires input · 32768/3 on the reluish scale, saturating at +-1. A left
  // shift is split so that only its last bit can saturate, after the multiply.
  std::int16_t reluish = hires_input;
  if (p.reluish_multiplier_exponent > 0) {
    reluish = detail::shift_left_saturating(reluish, p.reluish_multiplier_exponent - 1);
  }
  reluish = saturating_rounding_doubling_high_mul(reluish, p.reluish_multiplier_fixedpoint_int16);
  if (p.reluish_multiplier_exponent > 0) {
    reluish = detail::shift_left_saturating(reluish, 1);
  } else if (p.reluish_multiplier_exponent < 0) {
    reluish = detail::rounding_divide_by_pot_as_gemmlowp_int16(reluish, -p.reluish_multiplier_exponent);
  }
  // [-1, 1] -> [0, 1]: relu6(x + 3) / 6 in Q0.15.
  reluish = static_cast<std::int16_t>((reluish + (1 << 15)) >> 1);

  const std::int16_t preshift_result = detail::saturating_doubling_high_mul(reluish, preshift_output);
  const std::int16_t result =
      detail::rounding_divide_by_pot_as_gemmlowp_int16(preshift_result, -p.output_multiplier_exponent);
  // TFLite adds the zero point in int16 (wrapping) before clamping to the output type.
  const auto with_zero_point = static_cast<std::int16_t>(result + p.output_zero_point);
  constexpr std::int16_t lowest = std::numeric_limits<T>::min();
  constexpr std::int16_t highest = std::numeric_limits<T>::max();
  return static_cast<T>(with_zero_point < lowest ? lowest : (with_zero_point > highest ? highest : with_zero_point));
}

namespace scalar {

template <class T, class Policy>
constexpr void hard_swish(const hard_swish_params<T, Policy>& p, const T* input, T* output) noexcept {
  for (std::int64_t i = 0; i < p.count; ++i) output[i] = hard_swish_element(p, input[i]);
}

}  // namespace scalar

// --- the SIMD path ---------------------------------------------------------------------------

#if QKERN_SIMD
namespace simd {

// The vector path for arch A: a read of prepare's table (exactly hard_swish_element per input),
// so bit-identical to scalar::hard_swish.
template <class A = default_arch, class T, class Policy>
void hard_swish(const hard_swish_params<T, Policy>& p, const T* input, T* output) noexcept {
  simd::lookup_int8_table<A>(p.table, input, output, p.count);
}

}  // namespace simd
#endif  // QKERN_SIMD

// --- the public eval -------------------------------------------------------------------------

// output[i] = hard_swish(input[i]) for p.count elements. The SIMD path when qkern is built with
// it (the scalar reference in constant expressions); both give the same bits.
template <class T, class Policy>
constexpr void hard_swish(const hard_swish_params<T, Policy>& p, const T* input, T* output) noexcept {
#if QKERN_SIMD
  if (!simd::in_constant_evaluation()) {
    simd::hard_swish(p, input, output);
    return;
  }
#endif
  scalar::hard_swish(p, input, output);
}

}  // namespace qkern
