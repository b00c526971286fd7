// The pooling window shared by max_pool2d and average_pool2d: TFLite's output size and
// padding for SAME / VALID, and the params both pools use (NHWC, one window per channel).
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "qkern/core/activation.hpp"
#include "qkern/core/config.hpp"
#include "qkern/core/quantization.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/elementwise/common.hpp"

namespace qkern {

enum class pool_padding : std::uint8_t { same, valid };

struct pool2d_window {
  std::int32_t filter_height = 1;
  std::int32_t filter_width = 1;
  std::int32_t stride_height = 1;
  std::int32_t stride_width = 1;
  pool_padding padding = pool_padding::valid;
};

// TFLite's TfLitePaddingValues: the window of output (y, x) starts at input
// (y*stride_h - height, x*stride_w - width); *_offset is the odd remainder that goes to the
// bottom/right (informational: windows are clipped to the input anyway).
struct pool2d_padding {
  std::int32_t width = 0;
  std::int32_t height = 0;
  std::int32_t width_offset = 0;
  std::int32_t height_offset = 0;
};

template <class T>
struct pool2d_params {
  static_assert(detail::is_int8_or_int16<T>, "pooling is defined for int8 and int16");
  using element_type = T;
  std::int32_t batches = 0;
  std::int32_t input_height = 0;
  std::int32_t input_width = 0;
  std::int32_t channels = 0;
  pool2d_window window{};
  pool2d_padding padding{};
  shape output;  // [batches, out_h, out_w, channels]
  std::int32_t output_activation_min = 0;
  std::int32_t output_activation_max = 0;
};

namespace detail {

struct pool_axis {
  std::int32_t output_size = 0;
  std::int32_t padding = 0;  // before
  std::int32_t padding_offset = 0;
};

// SAME: out = ceil(in / stride); VALID: out = ceil((in - filter + 1) / stride). The total
// padding max(0, (out - 1)*stride + filter - in) is split with the odd element after.
constexpr result<pool_axis> make_pool_axis(std::int32_t input, std::int32_t filter, std::int32_t stride,
                                           pool_padding padding, const char* subject) noexcept {
  const std::int64_t in = input, k = filter, s = stride;
  if (padding == pool_padding::valid && k > in) {
    return status(status_code::invalid_shape, "filter is larger than the input (VALID padding)", subject, filter);
  }
  const std::int64_t out = padding == pool_padding::same ? (in + s - 1) / s : (in - k + s) / s;
  const std::int64_t needed = (out - 1) * s + k - in;
  const std::int64_t total = needed > 0 ? needed : 0;
  pool_axis a;
  a.output_size = static_cast<std::int32_t>(out);
  a.padding = static_cast<std::int32_t>(total / 2);
  a.padding_offset = static_cast<std::int32_t>(total % 2);
  return a;
}

// Shared prepare of both pools: input [N, H, W, C] with H, W >= 1, positive filter and strides,
// output quantized exactly like the input (the pools compare or average raw values).
template <class T>
constexpr result<pool2d_params<T>> prepare_pool2d(const quantization_params& input, const shape& input_shape,
                                                  const quantization_params& output, const pool2d_window& window,
                                                  fused_activation activation) noexcept {
  QKERN_TRY(validate_quantization<T>(input, "input"));
  QKERN_TRY(validate_quantization<T>(output, "output"));
  if (output.scale != input.scale || output.zero_point != input.zero_point) {
    return status(status_code::unsupported_parameter,
                  "must have the input's scale and zero point (pooling does not rescale)", "output");
  }
  QKERN_TRY(validate_shape(input_shape, "input"));
  if (input_shape.rank != 4) {
    return status(status_code::invalid_shape, "must have rank 4 (NHWC)", "input", input_shape.rank);
  }
  if (input_shape[1] < 1 || input_shape[2] < 1) {
    return status(status_code::invalid_shape, "height and width must be positive", "input");
  }
  if (window.filter_height < 1) {
    return status(status_code::invalid_argument, "must be positive", "filter_height", window.filter_height);
  }
  if (window.filter_width < 1) {
    return status(status_code::invalid_argument, "must be positive", "filter_width", window.filter_width);
  }
  if (window.stride_height < 1) {
    return status(status_code::invalid_argument, "must be positive", "stride_height", window.stride_height);
  }
  if (window.stride_width < 1) {
    return status(status_code::invalid_argument, "must be positive", "stride_width", window.stride_width);
  }

  const auto rows =
      make_pool_axis(input_shape[1], window.filter_height, window.stride_height, window.padding, "filter_height");
  if (!rows.ok()) return rows.error();
  const auto columns =
      make_pool_axis(input_shape[2], window.filter_width, window.stride_width, window.padding, "filter_width");
  if (!columns.ok()) return columns.error();
  const auto range = make_activation_range<T>(activation, output);
  if (!range.ok()) return range.error();

  pool2d_params<T> p;
  p.batches = input_shape[0];
  p.input_height = input_shape[1];
  p.input_width = input_shape[2];
  p.channels = input_shape[3];
  p.window = window;
  p.padding = {columns->padding, rows->padding, columns->padding_offset, rows->padding_offset};
  p.output.rank = 4;
  p.output.dims[0] = p.batches;
  p.output.dims[1] = rows->output_size;
  p.output.dims[2] = columns->output_size;
  p.output.dims[3] = p.channels;
  p.output_activation_min = range->min;
  p.output_activation_max = range->max;
  return p;
}

// The input rows [begin, end) that one output coordinate's window covers, clipped to the input.
struct tap_range {
  std::int32_t begin = 0;
  std::int32_t end = 0;
};

constexpr tap_range clip_window(std::int32_t output_index, std::int32_t stride, std::int32_t padding,
                                std::int32_t filter, std::int32_t input_size) noexcept {
  const std::int64_t start = std::int64_t{output_index} * stride - padding;
  const std::int64_t begin = start > 0 ? start : 0;
  const std::int64_t end = start + filter < input_size ? start + filter : input_size;
  return {static_cast<std::int32_t>(begin), static_cast<std::int32_t>(end)};
}

}  // namespace detail

// --- the SIMD paths' window walk -----------------------------------------------------------

#if QKERN_SIMD
namespace simd {
namespace detail {

// The windows of a pool, each clipped to the input as the scalar references clip them, output
// row by output row; each row is split into its border windows and the run of interior windows
// (inside the input in x, so filter_width columns each). For every output row:
//   window(origin, rows, columns, row_stride, out)   for each border pixel: origin is the
//     window's first in-bounds input pixel, its taps are origin + r*row_stride + x*channels for
//     r < rows, x < columns (both >= 1), and out receives its `channels` outputs;
//   run(first, rows, row_stride, column_step, count, out)   once for the interior pixels: pixel
//     k < count starts at first + k*column_step (rows x filter_width taps) and writes
//     out + k*channels.
template <class T, class Window, class Run>
void for_each_pool_row(const pool2d_params<T>& p, const T* input, T* output, Window&& window, Run&& run) noexcept {
  const std::int64_t channels = p.channels;
  const std::int64_t row = std::int64_t{p.input_width} * channels;
  const std::int64_t image = std::int64_t{p.input_height} * row;
  const std::int64_t stride = p.window.stride_width;
  const std::int64_t pad = p.padding.width;
  const std::int64_t out_width = p.output[2];
  // Interior: ox*stride - pad >= 0 and ox*stride - pad + filter_width <= input_width.
  const std::int64_t lo = std::min<std::int64_t>(out_width, (pad + stride - 1) / stride);
  const std::int64_t last_start = std::int64_t{p.input_width} - p.window.filter_width + pad;
  const std::int64_t hi = std::max<std::int64_t>(lo, last_start < 0 ? 0 : std::min<std::int64_t>(out_width, last_start / stride + 1));
  const auto border = [&](const T* batch, std::int64_t y0, std::int32_t rows, std::int64_t ox, T* out) {
    const auto xs = ::qkern::detail::clip_window(static_cast<std::int32_t>(ox), p.window.stride_width, p.padding.width,
                                                 p.window.filter_width, p.input_width);
    window(batch + y0 * row + xs.begin * channels, rows, xs.end - xs.begin, row, out);
  };
  for (std::int64_t b = 0; b < p.batches; ++b) {
    const T* batch = input + b * image;
    for (std::int32_t oy = 0; oy < p.output[1]; ++oy) {
      const auto ys = ::qkern::detail::clip_window(oy, p.window.stride_height, p.padding.height,
                                                   p.window.filter_height, p.input_height);
      const std::int32_t rows = ys.end - ys.begin;
      for (std::int64_t ox = 0; ox < lo; ++ox) border(batch, ys.begin, rows, ox, output + ox * channels);
      if (hi > lo) {
        run(batch + ys.begin * row + (lo * stride - pad) * channels, rows, row, stride * channels, hi - lo,
            output + lo * channels);
      }
      for (std::int64_t ox = hi; ox < out_width; ++ox) border(batch, ys.begin, rows, ox, output + ox * channels);
      output += out_width * channels;
    }
  }
}

// visit(tap) for every tap of a window from for_each_pool_row, row by row. Width > 0 unrolls
// the rows that hold exactly Width taps (every interior window of a filter that wide), so that
// the common windows run without an inner loop.
template <int Width, class T, class Visit>
void for_each_pool_tap(const T* origin, std::int32_t rows, std::int32_t columns, std::int64_t row_stride,
                       std::int64_t channels, Visit&& visit) noexcept {
  for (std::int32_t r = 0; r < rows; ++r) {
    const T* tap = origin + r * row_stride;
    if constexpr (Width > 0) {
      if (columns == Width) {
        for (int x = 0; x < Width; ++x) visit(tap + x * channels);
        continue;
      }
    }
    for (std::int32_t x = 0; x < columns; ++x) visit(tap + x * channels);
  }
}

// Calls run(std::integral_constant<int, W>{}) with W = the filter width where a specialised
// form exists (2 and 3, the common pools), else W = 0.
template <class Run>
void with_filter_width(std::int32_t filter_width, Run&& run) noexcept {
  switch (filter_width) {
    case 2: run(std::integral_constant<int, 2>{}); break;
    case 3: run(std::integral_constant<int, 3>{}); break;
    default: run(std::integral_constant<int, 0>{}); break;
  }
}

}  // namespace detail
}  // namespace simd
#endif  // QKERN_SIMD

}  // namespace qkern
