// The accumulator of the ops with weights: its type, the overflow bound prepare enforces, and
// the final requantizing step every output element goes through.
//
// Accumulator type (TFLite's rule): int8 activations accumulate in int32 with an int32 bias.
// int16 activations (int16x8) accumulate in the bias type: an int32 bias gives an int32
// accumulator and the int32 multiply, which depends on the rounding mode; an int64 bias gives
// an int64 accumulator and TFLite's int64 multiply (16-bit reduced multiplier, the same in both
// modes). Without a bias TFLM takes the int64 path: keep the default Bias (int64) for int16 and
// pass nullptr. The Bias template parameter, not the presence of a bias, picks the path.
//
// Overflow bound: an output element sums at most `taps` products (x + input_offset)·w, then
// adds its bias. With A = max|x + input_offset| over the input type (from the zero point) and
// W = max|w| (128 for int8 weights with zero point 0), prepare requires
//     taps · A · W + max|bias|  <=  2^31 - 1      (int32 accumulator)
//     taps · A · W + max|bias|  <   2^47          (int64 accumulator: TFLite's int64 multiply
//                                                  needs |acc| < 2^47)
// so no partial sum can overflow, whatever the input values. For int8 with input zero point
// -128 (A = 255) that is taps · 32640 + max|bias| <= 2^31 - 1, i.e. at most 65793 taps.
// taps: conv2d KH·KW·(C_in / groups); depthwise KH·KW; fully connected the depth; transpose
// conv ceil(KH / stride_h)·ceil(KW / stride_w)·C_in (the inputs one output element gathers).
// batch_matmul has no bias and uses W = max|rhs + rhs_offset|: K · A_lhs · A_rhs <= 2^31 - 1.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "qkern/core/quantization.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/elementwise/common.hpp"

namespace qkern {

// The default bias element type: int32 for int8 activations, int64 for int16 (int16x8).
template <class T>
using default_bias_t = std::conditional_t<std::is_same<T, std::int16_t>::value, std::int64_t, std::int32_t>;

// The accumulator an op with activations T and bias Bias sums in (see above).
template <class T, class Bias>
using accumulator_t = std::conditional_t<std::is_same<Bias, std::int64_t>::value, std::int64_t, std::int32_t>;

namespace detail {

// int32 for int8 activations; int32 or int64 for int16 activations.
template <class T, class Bias>
inline constexpr bool is_supported_bias =
    std::is_same<Bias, std::int32_t>::value ||
    (std::is_same<T, std::int16_t>::value && std::is_same<Bias, std::int64_t>::value);

template <class X>
struct identity {
  using type = X;
};
// A parameter of this type takes no part in template argument deduction, so nullptr can be
// passed where a `const Bias*` is expected and Bias keeps its default.
template <class X>
using non_deduced_t = typename identity<X>::type;

// The bound an accumulator of type Acc must stay within (inclusive).
template <class Acc>
inline constexpr std::int64_t accumulator_limit =
    sizeof(Acc) > sizeof(std::int32_t) ? (std::int64_t{1} << 47) - 1 : std::int64_t{std::numeric_limits<std::int32_t>::max()};

// Largest |x + input_offset| for x of type T, i.e. |x - zero_point| at T's extremes.
template <class T>
constexpr std::int64_t max_abs_offset_value(std::int32_t zero_point) noexcept {
  const std::int64_t below = std::int64_t{zero_point} - std::numeric_limits<T>::min();
  const std::int64_t above = std::int64_t{std::numeric_limits<T>::max()} - zero_point;
  return below > above ? below : above;
}

// The largest weight magnitude: int8 weights with zero point 0 reach |-128|.
inline constexpr std::int64_t max_abs_weight = 128;

// max|bias[c]| over `count` channels; 0 without a bias. Magnitudes are capped at 2^62 so that
// INT64_MIN has one and the bound arithmetic below cannot overflow.
template <class Bias>
constexpr std::int64_t max_abs_bias(const Bias* bias, std::int64_t count) noexcept {
  constexpr std::int64_t cap = std::int64_t{1} << 62;
  std::int64_t largest = 0;
  if (bias == nullptr) return 0;
  for (std::int64_t c = 0; c < count; ++c) {
    const std::int64_t b = bias[c];
    const std::int64_t magnitude = b < -cap ? cap : (b < 0 ? -b : (b > cap ? cap : b));
    if (magnitude > largest) largest = magnitude;
  }
  return largest;
}

// Refuses parameters whose accumulator could overflow: taps · max_abs_input · max_abs_w +
// max_abs_bias must stay within accumulator_limit<Acc>. taps < 2^31, max_abs_input <= 2^16 and
// max_abs_w <= 2^8 keep the product below 2^55, so it is exact in int64.
// `message` replaces the default explanation (batch_matmul words it for its two operands).
template <class Acc>
constexpr status check_accumulator_bound(std::int64_t taps, std::int64_t max_abs_input, std::int64_t max_abs_w,
                                         std::int64_t max_abs_bias_value, const char* message = nullptr) noexcept {
  constexpr std::int64_t limit = accumulator_limit<Acc>;
  const std::int64_t worst = taps * max_abs_input * max_abs_w + max_abs_bias_value;  // < 2^63
  if (worst > limit) {
    if (message == nullptr) {
      message = sizeof(Acc) > sizeof(std::int32_t)
                    ? "could overflow: taps * max|input + input_offset| * max|weight| + max|bias| must be below 2^47 "
                      "for the int64 accumulator"
                    : "could overflow: taps * max|input + input_offset| * max|weight| + max|bias| must not exceed "
                      "2^31 - 1 for the int32 accumulator";
    }
    return status(status_code::overflow, message, "accumulator", worst);
  }
  return {};
}

// Weights are int8 and symmetric (zero point 0), as TFLite requires of conv, depthwise,
// fully connected and transpose conv filters; `channels` is the output channel count.
constexpr status validate_weights(const per_channel_quantization& filter, std::int32_t channels,
                                  int quantized_dimension) noexcept {
  QKERN_TRY(validate_quantization<std::int8_t>(filter, static_cast<std::size_t>(channels), "filter"));
  if (filter.zero_point != 0) {
    return status(status_code::unsupported_parameter, "weights must be symmetric (zero point 0)", "filter",
                  filter.zero_point);
  }
  if (filter.count > 1 && filter.quantized_dimension != quantized_dimension) {
    return status(status_code::unsupported_parameter, "per-channel scales must be along the output channel axis",
                  "filter", filter.quantized_dimension);
  }
  return {};
}

// Input and output quantization of an op with activations T (int16: zero points 0).
template <class T>
constexpr status validate_activations(const quantization_params& input, const quantization_params& output) noexcept {
  QKERN_TRY(validate_quantization<T>(input, "input"));
  QKERN_TRY(validate_quantization<T>(output, "output"));
  QKERN_TRY(require_zero_point_zero_for_int16<T>(input, "input"));
  QKERN_TRY(require_zero_point_zero_for_int16<T>(output, "output"));
  return {};
}

constexpr status require_rank(const shape& s, int rank, const char* subject) noexcept {
  QKERN_TRY(validate_shape(s, subject));
  if (s.rank != rank) {
    return status(status_code::invalid_shape,
                  rank == 4 ? "must have rank 4" : (rank == 2 ? "must have rank 2" : "has the wrong rank"), subject,
                  s.rank);
  }
  return {};
}

// acc + bias, rescaled to output units, offset and clamped: the last step of every output
// element. Acc's width picks Policy's int32 or int64 multiply. The output offset is added in
// 64 bits: a rescaled value near INT32_MAX plus a positive offset must clamp, not wrap.
template <class T, class Policy, class Acc>
constexpr T requantize_accumulator(Acc acc, const typename Policy::multiplier_type& m, std::int32_t output_offset,
                                   std::int32_t activation_min, std::int32_t activation_max) noexcept {
  const std::int64_t scaled = std::int64_t{Policy::multiply(acc, m)} + output_offset;
  return clamp_narrow<T>(scaled, activation_min, activation_max);
}

}  // namespace detail
}  // namespace qkern
