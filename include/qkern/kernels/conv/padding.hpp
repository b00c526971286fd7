// Output sizes and padding of windowed ops (conv, depthwise, transpose conv), computed as
// TFLite's ComputeOutSize / ComputePaddingWithOffset do.
//
// Along one axis with input size `in`, filter size `k`, stride `s` and dilation `d`, the
// effective filter size is (k - 1)·d + 1 and
//   SAME:  out = ceil(in / s)
//   VALID: out = ceil((in - eff_k + 1) / s)
// The padding that centres the windows is total = max(0, (out - 1)·s + eff_k - in); the
// kernels pad total / 2 before (left, top) and the odd remainder (`*_offset`) after.
#pragma once

#include <cstdint>

#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"

namespace qkern {

enum class padding_kind : std::uint8_t { same, valid };

// TFLite's TfLitePaddingValues: the kernels use only `width` and `height` (left and top).
struct padding_values {
  std::int32_t width = 0;
  std::int32_t height = 0;
  std::int32_t width_offset = 0;   // total width padding % 2, added on the right
  std::int32_t height_offset = 0;  // total height padding % 2, added at the bottom
};

// One axis of a windowed op: its output size and the padding before it.
struct axis_window {
  std::int32_t output_size = 0;
  std::int32_t padding = 0;         // before the input (left or top)
  std::int32_t padding_offset = 0;  // the odd remainder after it
};

// Output size and padding along one axis. Fails for a non-positive stride, dilation or filter
// size, and when the (dilated) filter does not fit the input under VALID padding (no output).
// `subject` names the axis in messages ("height" or "width").
constexpr result<axis_window> compute_axis_window(padding_kind padding, std::int32_t input_size,
                                                  std::int32_t filter_size, std::int32_t stride,
                                                  std::int32_t dilation, const char* subject) noexcept {
  if (stride <= 0) return status(status_code::invalid_argument, "stride must be positive", subject, stride);
  if (dilation <= 0) return status(status_code::invalid_argument, "dilation must be positive", subject, dilation);
  if (filter_size <= 0) return status(status_code::invalid_shape, "filter size must be positive", subject, filter_size);
  if (input_size <= 0) return status(status_code::invalid_shape, "input size must be positive", subject, input_size);
  const std::int64_t effective_filter = (std::int64_t{filter_size} - 1) * dilation + 1;
  if (effective_filter > INT32_MAX) {
    return status(status_code::invalid_shape, "dilated filter size exceeds 2^31 - 1", subject, effective_filter);
  }
  if (padding == padding_kind::valid && effective_filter > input_size) {
    return status(status_code::invalid_shape,
                  "VALID padding leaves no output: the dilated filter is larger than the input", subject,
                  effective_filter);
  }
  const std::int64_t out = padding == padding_kind::same ? (std::int64_t{input_size} + stride - 1) / stride
                                                         : (std::int64_t{input_size} - effective_filter) / stride + 1;
  // (out - 1)·stride < input_size, so 0 <= total < effective_filter.
  std::int64_t total = (out - 1) * stride + effective_filter - input_size;
  if (total < 0) total = 0;
  axis_window w;
  w.output_size = static_cast<std::int32_t>(out);  // out <= input_size
  w.padding = static_cast<std::int32_t>(total / 2);
  w.padding_offset = static_cast<std::int32_t>(total % 2);
  return w;
}

namespace detail {

// Both spatial axes of a windowed op on an NHWC input: output sizes and padding.
struct spatial_windows {
  axis_window height;
  axis_window width;
};

constexpr result<spatial_windows> compute_spatial_windows(padding_kind padding, const shape& input,
                                                          std::int32_t filter_height, std::int32_t filter_width,
                                                          std::int32_t stride_height, std::int32_t stride_width,
                                                          std::int32_t dilation_height,
                                                          std::int32_t dilation_width) noexcept {
  const auto h = compute_axis_window(padding, input[1], filter_height, stride_height, dilation_height, "height");
  if (!h.ok()) return h.error();
  const auto w = compute_axis_window(padding, input[2], filter_width, stride_width, dilation_width, "width");
  if (!w.ok()) return w.error();
  return spatial_windows{*h, *w};
}

constexpr padding_values to_padding_values(const spatial_windows& w) noexcept {
  return {w.width.padding, w.height.padding, w.width.padding_offset, w.height.padding_offset};
}

}  // namespace detail

}  // namespace qkern
