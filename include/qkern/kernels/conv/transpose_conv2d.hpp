// transpose_conv2d (int8): the gradient of a conv2d with respect to its input, per-channel
// weights, stride, SAME/VALID padding and a fused activation.
//
// Layouts: input [N, H, W, C_in], filter [C_out, KH, KW, C_in], bias [C_out], output
// [N, OH, OW, C_out] with the output shape given (as TFLite's output_shape tensor). The padding
// is that of the forward conv whose input is this op's output (padding.hpp), and that forward
// conv must map the output's OH and OW back to the input's H and W.
// Every input value scatters into the output pixels its window covers:
//   acc[b, iy·stride_h - pad_h + fy, ix·stride_w - pad_w + fx, oc] += (x + input_offset) · w[oc, fy, fx, ic]
// in an int32 scratch buffer of one batch (OH·OW·C_out values, `scratch_count` in the params),
// then out = clamp(Policy::multiply(acc + bias[oc], m[oc]) + output_offset).
//
//   qkern::quantized_multiplier multipliers[C_out];
//   auto p = qkern::prepare_transpose_conv2d<std::int8_t>(in_q, in_shape, filter_q, filter_shape, bias, out_q,
//                                                         out_shape, {qkern::padding_kind::same, 2, 2}, multipliers);
//   std::int32_t scratch[...];   // at least p->scratch_count
//   qkern::status s = qkern::transpose_conv2d(*p, input, filter, bias, output, {scratch, p->scratch_count});
#pragma once

#include <cstddef>
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

struct transpose_conv2d_options {
  padding_kind padding = padding_kind::valid;
  std::int32_t stride_height = 1;
  std::int32_t stride_width = 1;
  fused_activation activation = fused_activation::none;
};

// Caller memory for transpose_conv2d's int32 accumulators: a pointer and how many it holds.
struct accumulator_scratch {
  std::int32_t* data = nullptr;
  std::size_t count = 0;

  constexpr accumulator_scratch() noexcept = default;
  constexpr accumulator_scratch(std::int32_t* storage, std::size_t capacity) noexcept
      : data(storage), count(capacity) {}
  template <std::size_t N>
  constexpr accumulator_scratch(std::int32_t (&array)[N]) noexcept : data(array), count(N) {}  // NOLINT: implicit
};

template <class T = std::int8_t, class Policy = double_rounding>
struct transpose_conv2d_params {
  static_assert(std::is_same<T, std::int8_t>::value, "transpose_conv2d is defined for int8");
  using element_type = T;
  using policy = Policy;
  using bias_type = std::int32_t;
  using accumulator_type = std::int32_t;
  using multiplier_type = typename Policy::multiplier_type;

  shape input_shape{};   // [N, H, W, C_in]
  shape filter_shape{};  // [C_out, KH, KW, C_in]
  shape output_shape{};  // [N, OH, OW, C_out]
  std::int32_t stride_height = 1;
  std::int32_t stride_width = 1;
  padding_values padding{};  // of the forward conv from output to input
  std::int32_t input_offset = 0;   // -zero point of the input
  std::int32_t output_offset = 0;  // +zero point of the output
  const multiplier_type* output_multipliers = nullptr;  // C_out entries in caller storage
  std::int32_t output_activation_min = 0;
  std::int32_t output_activation_max = 0;
  std::size_t scratch_count = 0;  // int32 accumulators eval needs: OH · OW · C_out
};

namespace detail {

// The most input values (over ic, iy, ix) that scatter into one output element: per axis,
// the filter taps with one residue modulo the stride, ceil(k / stride).
constexpr std::int64_t transpose_conv_taps(const shape& filter, std::int32_t stride_height,
                                           std::int32_t stride_width) noexcept {
  const std::int64_t rows = (std::int64_t{filter[1]} + stride_height - 1) / stride_height;
  const std::int64_t cols = (std::int64_t{filter[2]} + stride_width - 1) / stride_width;
  return rows * cols * filter[3];
}

}  // namespace detail

// T is std::int8_t (int32 bias). `bias` is the constant bias eval will be given (C_out values,
// or nullptr). Fails for invalid scales or zero points (weights: 0), shapes that are not rank 4
// or disagree (filter depth vs C_in, C_out vs the output's channels, batch), an output shape a
// forward conv would not map back to the input's H and W, strides below 1, too little
// multiplier storage and an accumulator that could overflow.
template <class T = std::int8_t, class Policy = double_rounding>
constexpr result<transpose_conv2d_params<T, Policy>> prepare_transpose_conv2d(
    const quantization_params& input, const shape& input_shape, const per_channel_quantization& filter,
    const shape& filter_shape, const std::int32_t* bias, const quantization_params& output,
    const shape& output_shape, const transpose_conv2d_options& options,
    multiplier_storage<typename Policy::multiplier_type> multipliers) noexcept {
  QKERN_TRY((detail::validate_activations<T>(input, output)));
  QKERN_TRY(detail::require_rank(input_shape, 4, "input"));
  QKERN_TRY(detail::require_rank(filter_shape, 4, "filter"));
  QKERN_TRY(detail::require_rank(output_shape, 4, "output"));
  QKERN_TRY(detail::require_positive_extents(input_shape, "input"));
  QKERN_TRY(detail::require_positive_extents(filter_shape, "filter"));
  QKERN_TRY(detail::require_positive_extents(output_shape, "output"));
  if (filter_shape[3] != input_shape[3]) {
    return status(status_code::invalid_shape, "filter depth must equal the input channels", "filter",
                  filter_shape[3]);
  }
  const std::int32_t output_depth = filter_shape[0];
  if (output_shape[3] != output_depth) {
    return status(status_code::invalid_shape, "output channels must equal the filter's output channels", "output",
                  output_shape[3]);
  }
  if (output_shape[0] != input_shape[0]) {
    return status(status_code::invalid_shape, "batch must equal the input's", "output", output_shape[0]);
  }
  QKERN_TRY(detail::validate_weights(filter, output_depth, 0));

  // The forward conv runs from this op's output to its input.
  const auto windows = detail::compute_spatial_windows(options.padding, output_shape, filter_shape[1],
                                                       filter_shape[2], options.stride_height, options.stride_width,
                                                       1, 1);
  if (!windows.ok()) return windows.error().about("output");
  if (windows->height.output_size != input_shape[1] || windows->width.output_size != input_shape[2]) {
    return status(status_code::invalid_shape,
                  "a forward conv with this filter, stride and padding does not map the output's height and width "
                  "back to the input's",
                  "output", windows->height.output_size != input_shape[1] ? output_shape[1] : output_shape[2]);
  }
  transpose_conv2d_params<T, Policy> p;
  p.input_shape = input_shape;
  p.filter_shape = filter_shape;
  p.output_shape = output_shape;
  p.stride_height = options.stride_height;
  p.stride_width = options.stride_width;
  p.padding = detail::to_padding_values(*windows);
  p.input_offset = -input.zero_point;
  p.output_offset = output.zero_point;
  p.scratch_count = static_cast<std::size_t>(output_shape[1]) * static_cast<std::size_t>(output_shape[2]) *
                    static_cast<std::size_t>(output_depth);

  const auto range = make_activation_range<T>(options.activation, output);
  if (!range.ok()) return range.error();
  p.output_activation_min = range->min;
  p.output_activation_max = range->max;

  QKERN_TRY(detail::check_accumulator_bound<std::int32_t>(
      detail::transpose_conv_taps(filter_shape, options.stride_height, options.stride_width),
      detail::max_abs_offset_value<T>(input.zero_point), detail::max_abs_weight,
      detail::max_abs_bias(bias, output_depth)));

  QKERN_TRY(derive_per_channel_multipliers<Policy>(input.scale, filter, output.scale, output_depth, multipliers));
  p.output_multipliers = multipliers.data;
  return p;
}

// --- the scalar reference ---------------------------------------------------------------------

namespace scalar {

// Returns buffer_too_small (and writes nothing) when scratch holds fewer than p.scratch_count.
template <class T, class Policy>
[[nodiscard]] constexpr status transpose_conv2d(const transpose_conv2d_params<T, Policy>& p, const T* input,
                                                const std::int8_t* filter, const std::int32_t* bias, T* output,
                                                accumulator_scratch scratch) noexcept {
  if (scratch.data == nullptr || scratch.count < p.scratch_count) {
    return status(status_code::buffer_too_small, "transpose_conv2d needs params.scratch_count int32 values",
                  "scratch", static_cast<std::int64_t>(scratch.count));
  }
  const shape& in = p.input_shape;
  const shape& f = p.filter_shape;
  const shape& out = p.output_shape;
  const shape one_batch = detail::shape4(1, out[1], out[2], out[3]);  // the scratch's layout
  for (std::int32_t b = 0; b < in[0]; ++b) {
    for (std::size_t i = 0; i < p.scratch_count; ++i) scratch.data[i] = 0;
    for (std::int32_t iy = 0; iy < in[1]; ++iy) {
      for (std::int32_t ix = 0; ix < in[2]; ++ix) {
        for (std::int32_t ic = 0; ic < in[3]; ++ic) {
          const std::int32_t x = input[detail::offset4(in, b, iy, ix, ic)] + p.input_offset;
          for (std::int32_t fy = 0; fy < f[1]; ++fy) {
            const std::int32_t oy = iy * p.stride_height - p.padding.height + fy;
            if (oy < 0 || oy >= out[1]) continue;
            for (std::int32_t fx = 0; fx < f[2]; ++fx) {
              const std::int32_t ox = ix * p.stride_width - p.padding.width + fx;
              if (ox < 0 || ox >= out[2]) continue;
              std::int32_t* acc = scratch.data + detail::offset4(one_batch, 0, oy, ox, 0);
              for (std::int32_t oc = 0; oc < out[3]; ++oc) acc[oc] += x * filter[detail::offset4(f, oc, fy, fx, ic)];
            }
          }
        }
      }
    }
    T* batch_output = output + detail::offset4(out, b, 0, 0, 0);
    for (std::size_t i = 0; i < p.scratch_count; ++i) {
      const auto oc = static_cast<std::int32_t>(i % static_cast<std::size_t>(out[3]));
      const std::int32_t acc = scratch.data[i] + (bias != nullptr ? bias[oc] : 0);
      batch_output[i] = detail::requantize_accumulator<T, Policy>(
          acc, p.output_multipliers[oc], p.output_offset, p.output_activation_min, p.output_activation_max);
    }
  }
  return {};
}

}  // namespace scalar

// --- the public eval ------------------------------------------------------------------------

// output (p.output_shape) = activation(transpose_conv2d(input, filter) + bias); bias may be
// nullptr. scratch holds at least p.scratch_count int32 values (its contents are overwritten).
template <class T, class Policy>
[[nodiscard]] constexpr status transpose_conv2d(const transpose_conv2d_params<T, Policy>& p, const T* input,
                                                const std::int8_t* filter, const std::int32_t* bias, T* output,
                                                accumulator_scratch scratch) noexcept {
  return scalar::transpose_conv2d(p, input, filter, bias, output, scratch);
}

}  // namespace qkern
