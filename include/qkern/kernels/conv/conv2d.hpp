// conv2d: int8 and int16x8 (int16 activations, int8 weights), per-channel weights, stride,
// dilation, SAME/VALID padding, groups and a fused activation.
//
// Layouts: input [N, H, W, C_in] (NHWC), filter [C_out, KH, KW, C_in / groups] (OHWI), bias
// [C_out], output [N, OH, OW, C_out]. Output channel oc belongs to group oc / (C_out / groups)
// and reads that group's C_in / groups input channels. Each output element is
//   acc = Σ (x + input_offset) · w   over the taps inside the input (padding is skipped, i.e. it
//                                    stands for the input zero point)
//   out = clamp(Policy::multiply(acc + bias[oc], m[oc]) + output_offset)
//
//   qkern::quantized_multiplier multipliers[C_out];   // caller storage, see multipliers.hpp
//   auto p = qkern::prepare_conv2d<std::int8_t>(in_q, in_shape, filter_q, filter_shape, bias, out_q,
//                                               {qkern::padding_kind::same, 2, 2}, multipliers);
//   if (p) qkern::conv2d(*p, input, filter, bias, output);  // output: p->output_shape
// int16x8 with an int32 bias: prepare_conv2d<std::int16_t, Policy, std::int32_t>(...).
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

struct conv2d_options {
  padding_kind padding = padding_kind::valid;
  std::int32_t stride_height = 1;
  std::int32_t stride_width = 1;
  std::int32_t dilation_height = 1;
  std::int32_t dilation_width = 1;
  fused_activation activation = fused_activation::none;
};

template <class T, class Policy = double_rounding, class Bias = default_bias_t<T>>
struct conv2d_params {
  static_assert(detail::is_int8_or_int16<T>, "conv2d activations are int8 or int16 (int16x8)");
  static_assert(detail::is_supported_bias<T, Bias>, "the bias is int32 (int8), or int32 or int64 (int16)");
  using element_type = T;
  using policy = Policy;
  using bias_type = Bias;
  using accumulator_type = accumulator_t<T, Bias>;
  using multiplier_type = typename Policy::multiplier_type;

  shape input_shape{};   // [N, H, W, C_in]
  shape filter_shape{};  // [C_out, KH, KW, C_in / groups]
  shape output_shape{};  // [N, OH, OW, C_out]
  std::int32_t stride_height = 1;
  std::int32_t stride_width = 1;
  std::int32_t dilation_height = 1;
  std::int32_t dilation_width = 1;
  padding_values padding{};
  std::int32_t groups = 1;         // C_in / filter depth
  std::int32_t input_offset = 0;   // -zero point of the input
  std::int32_t output_offset = 0;  // +zero point of the output
  const multiplier_type* output_multipliers = nullptr;  // C_out entries in caller storage
  std::int32_t output_activation_min = 0;
  std::int32_t output_activation_max = 0;
};

// T is std::int8_t or std::int16_t; Bias is int32 (int8) or int32/int64 (int16; the default is
// int64), and picks the accumulator (see accumulator.hpp). `bias` is the constant bias eval
// will be given (C_out values, or nullptr for none): prepare reads it to bound the accumulator.
// Writes C_out multipliers into `multipliers`. Fails for invalid scales or zero points (int16:
// zero points 0; weights: zero point 0), shapes that are not rank 4 or whose channels do not
// split into groups, strides or dilations below 1, VALID windows larger than the input, too
// little multiplier storage, and parameters whose accumulator could overflow.
template <class T, class Policy = double_rounding, class Bias = default_bias_t<T>>
constexpr result<conv2d_params<T, Policy, Bias>> prepare_conv2d(
    const quantization_params& input, const shape& input_shape, const per_channel_quantization& filter,
    const shape& filter_shape, const detail::non_deduced_t<Bias>* bias, const quantization_params& output,
    const conv2d_options& options, multiplier_storage<typename Policy::multiplier_type> multipliers) noexcept {
  QKERN_TRY((detail::validate_activations<T>(input, output)));
  QKERN_TRY(detail::require_rank(input_shape, 4, "input"));
  QKERN_TRY(detail::require_rank(filter_shape, 4, "filter"));
  QKERN_TRY(detail::require_positive_extents(input_shape, "input"));
  QKERN_TRY(detail::require_positive_extents(filter_shape, "filter"));

  conv2d_params<T, Policy, Bias> p;
  const std::int32_t input_depth = input_shape[3];
  const std::int32_t filter_depth = filter_shape[3];
  const std::int32_t output_depth = filter_shape[0];
  if (input_depth % filter_depth != 0) {
    return status(status_code::invalid_shape,
                  "input channels must be a multiple of the filter depth (C_in / groups)", "filter", filter_depth);
  }
  p.groups = input_depth / filter_depth;
  if (output_depth % p.groups != 0) {
    return status(status_code::invalid_shape, "output channels must be a multiple of the group count", "filter",
                  output_depth);
  }
  QKERN_TRY(detail::validate_weights(filter, output_depth, 0));

  const auto windows =
      detail::compute_spatial_windows(options.padding, input_shape, filter_shape[1], filter_shape[2],
                                      options.stride_height, options.stride_width, options.dilation_height,
                                      options.dilation_width);
  if (!windows.ok()) return windows.error();
  p.input_shape = input_shape;
  p.filter_shape = filter_shape;
  p.output_shape =
      detail::shape4(input_shape[0], windows->height.output_size, windows->width.output_size, output_depth);
  QKERN_TRY(validate_shape(p.output_shape, "output"));
  p.stride_height = options.stride_height;
  p.stride_width = options.stride_width;
  p.dilation_height = options.dilation_height;
  p.dilation_width = options.dilation_width;
  p.padding = detail::to_padding_values(*windows);
  p.input_offset = -input.zero_point;
  p.output_offset = output.zero_point;

  const auto range = make_activation_range<T>(options.activation, output);
  if (!range.ok()) return range.error();
  p.output_activation_min = range->min;
  p.output_activation_max = range->max;

  const std::int64_t taps = std::int64_t{filter_shape[1]} * filter_shape[2] * filter_depth;
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
constexpr void conv2d(const conv2d_params<T, Policy, Bias>& p, const T* input, const std::int8_t* filter,
                      const Bias* bias, T* output) noexcept {
  using accumulator = accumulator_t<T, Bias>;
  const shape& in = p.input_shape;
  const shape& f = p.filter_shape;
  const shape& out = p.output_shape;
  const std::int32_t filter_depth = f[3];
  const std::int32_t filters_per_group = out[3] / p.groups;
  for (std::int32_t b = 0; b < out[0]; ++b) {
    for (std::int32_t oy = 0; oy < out[1]; ++oy) {
      const std::int32_t y_origin = oy * p.stride_height - p.padding.height;
      for (std::int32_t ox = 0; ox < out[2]; ++ox) {
        const std::int32_t x_origin = ox * p.stride_width - p.padding.width;
        for (std::int32_t oc = 0; oc < out[3]; ++oc) {
          const std::int32_t first_input_channel = (oc / filters_per_group) * filter_depth;
          accumulator acc = 0;
          for (std::int32_t fy = 0; fy < f[1]; ++fy) {
            const std::int32_t iy = y_origin + fy * p.dilation_height;
            if (iy < 0 || iy >= in[1]) continue;
            for (std::int32_t fx = 0; fx < f[2]; ++fx) {
              const std::int32_t ix = x_origin + fx * p.dilation_width;
              if (ix < 0 || ix >= in[2]) continue;
              const T* x = input + detail::offset4(in, b, iy, ix, first_input_channel);
              const std::int8_t* w = filter + detail::offset4(f, oc, fy, fx, 0);
              for (std::int32_t ic = 0; ic < filter_depth; ++ic) acc += (x[ic] + p.input_offset) * w[ic];
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

// output (p.output_shape) = activation(conv2d(input, filter) + bias); bias may be nullptr.
template <class T, class Policy, class Bias>
constexpr void conv2d(const conv2d_params<T, Policy, Bias>& p, const T* input, const std::int8_t* filter,
                      const Bias* bias, T* output) noexcept {
  scalar::conv2d(p, input, filter, bias, output);
}

}  // namespace qkern
