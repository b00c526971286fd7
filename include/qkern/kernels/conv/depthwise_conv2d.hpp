// depthwise_conv2d: int8 and int16x8, per-channel weights, depth multiplier, stride, dilation,
// SAME/VALID padding and a fused activation.
//
// Layouts: input [N, H, W, C_in], filter [1, KH, KW, C_in · depth_multiplier] (1HWO), bias
// [C_out], output [N, OH, OW, C_out] with C_out = C_in · depth_multiplier. Output channel oc
// reads input channel oc / depth_multiplier only:
//   acc = Σ (x[.., oc / depth_multiplier] + input_offset) · w[0, fy, fx, oc]  over in-bounds taps
//   out = clamp(Policy::multiply(acc + bias[oc], m[oc]) + output_offset)
//
//   qkern::quantized_multiplier multipliers[C_out];
//   qkern::depthwise_conv2d_options options;
//   options.depth_multiplier = 2;
//   auto p = qkern::prepare_depthwise_conv2d<std::int8_t>(in_q, in_shape, filter_q, filter_shape, bias,
//                                                         out_q, options, multipliers);
//   if (p) qkern::depthwise_conv2d(*p, input, filter, bias, output);
// int16x8 takes an int64 bias (the only one TFLM's int16 depthwise reads).
#pragma once

#include <cstdint>
#include <type_traits>

#include "qkern/core/activation.hpp"
#include "qkern/core/quantization.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/conv/accumulator.hpp"
#include "qkern/kernels/conv/layout.hpp"
#include "qkern/kernels/conv/multipliers.hpp"
#include "qkern/kernels/conv/padding.hpp"

namespace qkern {

struct depthwise_conv2d_options {
  padding_kind padding = padding_kind::valid;
  std::int32_t stride_height = 1;
  std::int32_t stride_width = 1;
  std::int32_t dilation_height = 1;
  std::int32_t dilation_width = 1;
  std::int32_t depth_multiplier = 1;
  fused_activation activation = fused_activation::none;
};

template <class T, class Policy = double_rounding, class Bias = default_bias_t<T>>
struct depthwise_conv2d_params {
  static_assert(detail::is_int8_or_int16<T>, "depthwise_conv2d activations are int8 or int16 (int16x8)");
  static_assert(std::is_same<Bias, default_bias_t<T>>::value,
                "depthwise_conv2d takes an int32 bias (int8) or an int64 bias (int16), as TFLite does");
  using element_type = T;
  using policy = Policy;
  using bias_type = Bias;
  using accumulator_type = accumulator_t<T, Bias>;
  using multiplier_type = typename Policy::multiplier_type;

  shape input_shape{};   // [N, H, W, C_in]
  shape filter_shape{};  // [1, KH, KW, C_out]
  shape output_shape{};  // [N, OH, OW, C_out]
  std::int32_t stride_height = 1;
  std::int32_t stride_width = 1;
  std::int32_t dilation_height = 1;
  std::int32_t dilation_width = 1;
  std::int32_t depth_multiplier = 1;
  padding_values padding{};
  std::int32_t input_offset = 0;   // -zero point of the input
  std::int32_t output_offset = 0;  // +zero point of the output
  const multiplier_type* output_multipliers = nullptr;  // C_out entries in caller storage
  std::int32_t output_activation_min = 0;
  std::int32_t output_activation_max = 0;
};

// As prepare_conv2d, with the filter [1, KH, KW, C_in · depth_multiplier] and per-channel
// scales along dimension 3. Fails as prepare_conv2d does, and for a depth multiplier below 1 or
// a filter depth other than C_in · depth_multiplier.
template <class T, class Policy = double_rounding, class Bias = default_bias_t<T>>
constexpr result<depthwise_conv2d_params<T, Policy, Bias>> prepare_depthwise_conv2d(
    const quantization_params& input, const shape& input_shape, const per_channel_quantization& filter,
    const shape& filter_shape, const detail::non_deduced_t<Bias>* bias, const quantization_params& output,
    const depthwise_conv2d_options& options,
    multiplier_storage<typename Policy::multiplier_type> multipliers) noexcept {
  QKERN_TRY((detail::validate_activations<T>(input, output)));
  QKERN_TRY(detail::require_rank(input_shape, 4, "input"));
  QKERN_TRY(detail::require_rank(filter_shape, 4, "filter"));
  QKERN_TRY(detail::require_positive_extents(input_shape, "input"));
  QKERN_TRY(detail::require_positive_extents(filter_shape, "filter"));
  if (filter_shape[0] != 1) {
    return status(status_code::invalid_shape, "depthwise filters are [1, KH, KW, C_in * depth_multiplier]", "filter",
                  filter_shape[0]);
  }
  if (options.depth_multiplier <= 0) {
    return status(status_code::invalid_argument, "must be positive", "depth_multiplier", options.depth_multiplier);
  }
  const std::int32_t output_depth = filter_shape[3];
  if (std::int64_t{input_shape[3]} * options.depth_multiplier != output_depth) {
    return status(status_code::invalid_shape, "filter depth must equal input channels * depth_multiplier", "filter",
                  output_depth);
  }
  QKERN_TRY(detail::validate_weights(filter, output_depth, 3));

  const auto windows =
      detail::compute_spatial_windows(options.padding, input_shape, filter_shape[1], filter_shape[2],
                                      options.stride_height, options.stride_width, options.dilation_height,
                                      options.dilation_width);
  if (!windows.ok()) return windows.error();
  depthwise_conv2d_params<T, Policy, Bias> p;
  p.input_shape = input_shape;
  p.filter_shape = filter_shape;
  p.output_shape =
      detail::shape4(input_shape[0], windows->height.output_size, windows->width.output_size, output_depth);
  QKERN_TRY(validate_shape(p.output_shape, "output"));
  p.stride_height = options.stride_height;
  p.stride_width = options.stride_width;
  p.dilation_height = options.dilation_height;
  p.dilation_width = options.dilation_width;
  p.depth_multiplier = options.depth_multiplier;
  p.padding = detail::to_padding_values(*windows);
  p.input_offset = -input.zero_point;
  p.output_offset = output.zero_point;

  const auto range = make_activation_range<T>(options.activation, output);
  if (!range.ok()) return range.error();
  p.output_activation_min = range->min;
  p.output_activation_max = range->max;

  const std::int64_t taps = std::int64_t{filter_shape[1]} * filter_shape[2];
  QKERN_TRY((detail::check_accumulator_bound<accumulator_t<T, Bias>>(
      taps, detail::max_abs_offset_value<T>(input.zero_point), detail::max_abs_weight,
      detail::max_abs_bias(bias, output_depth))));

  QKERN_TRY(derive_per_channel_multipliers<Policy>(input.scale, filter, output.scale, output_depth, multipliers));
  p.output_multipliers = multipliers.data;
  return p;
}

// --- the scalar reference ---------------------------------------------------------------------

namespace scalar {

template <class T, class Policy, class Bias>
constexpr void depthwise_conv2d(const depthwise_conv2d_params<T, Policy, Bias>& p, const T* input,
                                const std::int8_t* filter, const Bias* bias, T* output) noexcept {
  using accumulator = accumulator_t<T, Bias>;
  const shape& in = p.input_shape;
  const shape& f = p.filter_shape;
  const shape& out = p.output_shape;
  for (std::int32_t b = 0; b < out[0]; ++b) {
    for (std::int32_t oy = 0; oy < out[1]; ++oy) {
      const std::int32_t y_origin = oy * p.stride_height - p.padding.height;
      for (std::int32_t ox = 0; ox < out[2]; ++ox) {
        const std::int32_t x_origin = ox * p.stride_width - p.padding.width;
        for (std::int32_t oc = 0; oc < out[3]; ++oc) {
          const std::int32_t ic = oc / p.depth_multiplier;
          accumulator acc = 0;
          for (std::int32_t fy = 0; fy < f[1]; ++fy) {
            const std::int32_t iy = y_origin + fy * p.dilation_height;
            if (iy < 0 || iy >= in[1]) continue;
            for (std::int32_t fx = 0; fx < f[2]; ++fx) {
              const std::int32_t ix = x_origin + fx * p.dilation_width;
              if (ix < 0 || ix >= in[2]) continue;
              acc += (input[detail::offset4(in, b, iy, ix, ic)] + p.input_offset) *
                     filter[detail::offset4(f, 0, fy, fx, oc)];
            }
          }
          if (bias != nullptr) acc += bias[oc];
          output[detail::offset4(out, b, oy, ox, oc)] = detail::requantize_accumulator<T, Policy>(
              acc, p.output_multipliers[oc], p.output_offset, p.output_activation_min, p.output_activation_max);
        }
      }
    }
  }
}

}  // namespace scalar

// --- the public eval ------------------------------------------------------------------------

// output (p.output_shape) = activation(depthwise_conv2d(input, filter) + bias); bias may be nullptr.
template <class T, class Policy, class Bias>
constexpr void depthwise_conv2d(const depthwise_conv2d_params<T, Policy, Bias>& p, const T* input,
                                const std::int8_t* filter, const Bias* bias, T* output) noexcept {
  scalar::depthwise_conv2d(p, input, filter, bias, output);
}

}  // namespace qkern
