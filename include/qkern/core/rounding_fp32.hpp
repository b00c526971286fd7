// fp32_scale: XNNPACK's "fp32" requantization of its qs8 / qc8 (signed int8) operators, as a
// rounding policy beside double_rounding and single_rounding (core/rounding.hpp).
//
// What XNNPACK does (checked against Debian's libxnnpack 0.0~git20220216.ae108ef by
// tests/kernels/test_conv_xnnpack.cpp, which runs that library as the oracle):
//   - Operator creation forms one float32 scale per output channel, in float32 arithmetic, left
//     to right: scale = input_scale * kernel_scale / output_scale (qs8: one kernel scale; qc8:
//     kernel_scale[c]). Nothing is formed in double, unlike TFLite's QuantizeMultiplier path;
//     XNNPACK refuses scales >= 256 (see fp32_scale::make_scale).
//   - The int32 accumulator (bias + Σ (x - input_zero_point) · w) is converted to float32
//     (round to nearest even), multiplied by the float32 scale (one float32 multiply, round to
//     nearest even), clamped in float to [output_min - zero_point, output_max - zero_point],
//     converted back to int32 rounding to nearest, ties to even (cvtps2dq under the default
//     MXCSR on x86; lrintf / the 1.5·2^23 "magic bias" addition in the scalar variants, which
//     round the same way), then the output zero point is added and the result clamped to
//     [output_min, output_max] (the x86 kernels saturate through int16 on the way; none of
//     those steps can change a value that the float clamp already bounded).
// Clamping before or after the integer rounding gives the same value (rounding is monotonic
// and the bounds are integers), so the policy's multiply is simply
//     multiply(acc, scale) = round_half_even(float(acc) · scale)   (saturated to int32)
// and the kernels add the zero point and clamp as for every policy.
//
// Assumes the default floating-point environment (round to nearest even) for the int -> float
// conversion and the multiply, as XNNPACK does. The float -> int rounding here does not depend
// on the environment.
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include "qkern/core/status.hpp"

namespace qkern {
namespace detail {

// v rounded to the nearest integer, ties to even, saturated to int32. Usable in constant
// expressions and independent of the rounding mode. NaN gives 0 (no caller produces one).
constexpr std::int32_t round_half_even_saturated(float v) noexcept {
  if (v != v) return 0;
  if (v >= 2147483648.0f) return std::numeric_limits<std::int32_t>::max();
  if (v <= -2147483648.0f) return std::numeric_limits<std::int32_t>::min();
  // |v| < 2^31, so the truncation fits int64. For |v| >= 2^23 v is already an integer; below,
  // v - trunc(v) is exact (both are multiples of v's ulp and the difference is below 1).
  const auto truncated = static_cast<std::int64_t>(v);
  const float fraction = v - static_cast<float>(truncated);
  std::int64_t r = truncated;
  if (fraction > 0.5f || (fraction == 0.5f && (truncated & 1) != 0)) {
    r = truncated + 1;
  } else if (fraction < -0.5f || (fraction == -0.5f && (truncated & 1) != 0)) {
    r = truncated - 1;
  }
  return static_cast<std::int32_t>(r);
}

}  // namespace detail

// XNNPACK's float-scale requantization (see above). multiplier_type is the float32 scale.
struct fp32_scale {
  using multiplier_type = float;
  static constexpr const char* name = "fp32";

  // Prepare steps of the ops with weights ask the policy to form the scale from the three
  // tensor scales when it says so (conv/multipliers.hpp): XNNPACK's float32 formula, with its
  // bound (XNNPACK rejects >= 256 with xnn_status_unsupported_parameter).
  static constexpr bool forms_scale_from_tensor_scales = true;
  static constexpr result<float> make_scale(float input_scale, float filter_scale, float output_scale) noexcept {
    const float product = input_scale * filter_scale;
    const float scale = product / output_scale;
    return checked(scale);
  }

  // For ops that hand over a real factor directly: that factor rounded to float32.
  static constexpr result<float> quantize(double real) noexcept {
    if (real != real || real < 0.0 || real > static_cast<double>(std::numeric_limits<float>::max())) {
      return status(status_code::invalid_multiplier, "real multiplier is NaN, negative or beyond float32");
    }
    return checked(static_cast<float>(real));
  }

  // round_half_even(float(x) · scale), saturated to int32. An int64 accumulator (int16x8 ops,
  // which XNNPACK does not have) is converted the same way.
  template <class Accumulator>
  static constexpr std::int32_t multiply(Accumulator x, float scale) noexcept {
    static_assert(std::is_integral<Accumulator>::value && std::is_signed<Accumulator>::value,
                  "accumulators are signed integers");
    return detail::round_half_even_saturated(static_cast<float>(x) * scale);
  }
  static constexpr std::int32_t multiply_smaller_than_one_exp(std::int32_t x, float scale) noexcept {
    return multiply(x, scale);
  }

 private:
  static constexpr result<float> checked(float scale) noexcept {
    if (scale != scale || scale < 0.0f) {
      return status(status_code::invalid_multiplier, "float32 scale is NaN or negative");
    }
    if (scale >= 256.0f) {
      return status(status_code::invalid_multiplier,
                    "float32 scale input_scale * filter_scale / output_scale must be below 256 (XNNPACK's bound)");
    }
    return scale;
  }
};

}  // namespace qkern
