// resize_nearest_neighbor (NHWC): [N, H, W, C] -> [N, out_h, out_w, C]. Rows and columns are
// mapped independently with TFLite's float32 arithmetic, so the source index of every output
// coordinate is the one TFLite picks. Generic over the element type.
//
//   auto p = qkern::prepare_resize_nearest_neighbor<std::int8_t>(input_shape, 64, 64, {/*align_corners=*/false,
//                                                                                    /*half_pixel_centers=*/true});
//   if (p) qkern::resize_nearest_neighbor(*p, in, out);
#pragma once

#include <cstdint>

#include "qkern/core/quantization.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/layout/common.hpp"

namespace qkern {

// TFLM accepts both flags together (TensorFlow itself does not); so does qkern.
struct resize_options {
  bool align_corners = false;
  bool half_pixel_centers = false;
};

// One axis: input extent, output extent and TFLite's float32 scale between them.
struct nearest_axis_map {
  std::int32_t input_size = 0;
  std::int32_t output_size = 0;
  float scale = 0.0f;
};

template <class T>
struct resize_nearest_neighbor_params {
  using element_type = T;
  shape output;
  resize_options options{};
  nearest_axis_map rows{};
  nearest_axis_map columns{};
};

namespace detail {

constexpr nearest_axis_map make_nearest_axis_map(std::int32_t input_size, std::int32_t output_size,
                                                 bool align_corners) noexcept {
  nearest_axis_map m;
  m.input_size = input_size;
  m.output_size = output_size;
  m.scale = align_corners && output_size > 1 ? static_cast<float>(input_size - 1) / static_cast<float>(output_size - 1)
                                             : static_cast<float>(input_size) / static_cast<float>(output_size);
  return m;
}

}  // namespace detail

// Source index of output coordinate o: v = (o + 0.5 if half_pixel_centers) * scale in float32;
// round half away from zero (align_corners) or floor; then at most input_size - 1 and, with
// half_pixel_centers, at least 0. v >= 0, so floor is truncation.
constexpr std::int32_t nearest_source_index(const nearest_axis_map& m, std::int32_t o,
                                            const resize_options& options) noexcept {
  const float v = (static_cast<float>(o) + (options.half_pixel_centers ? 0.5f : 0.0f)) * m.scale;
  // 0 <= v < 2^33 (o < 2^31, scale <= input_size), so the truncation to int64 is defined.
  const auto whole = static_cast<std::int64_t>(v);
  const std::int64_t index = options.align_corners ? whole + (v - static_cast<float>(whole) >= 0.5f ? 1 : 0) : whole;
  const std::int64_t last = m.input_size - 1;
  const std::int64_t clamped = index < last ? index : last;
  return static_cast<std::int32_t>(options.half_pixel_centers && clamped < 0 ? 0 : clamped);
}

// input_shape is [N, H, W, C] with H, W >= 1; the output extents must be >= 1.
template <class T>
constexpr result<resize_nearest_neighbor_params<T>> prepare_resize_nearest_neighbor(
    const shape& input_shape, std::int32_t output_height, std::int32_t output_width,
    const resize_options& options = {}) noexcept {
  QKERN_TRY(validate_shape(input_shape, "input"));
  if (input_shape.rank != 4) {
    return status(status_code::invalid_shape, "must have rank 4 (NHWC)", "input", input_shape.rank);
  }
  if (input_shape[1] < 1 || input_shape[2] < 1) {
    return status(status_code::invalid_shape, "height and width must be positive", "input");
  }
  if (output_height < 1) {
    return status(status_code::invalid_argument, "output height must be positive", "size", output_height);
  }
  if (output_width < 1) {
    return status(status_code::invalid_argument, "output width must be positive", "size", output_width);
  }
  resize_nearest_neighbor_params<T> p;
  p.output.rank = 4;
  p.output.dims[0] = input_shape[0];
  p.output.dims[1] = output_height;
  p.output.dims[2] = output_width;
  p.output.dims[3] = input_shape[3];
  QKERN_TRY(validate_shape(p.output, "output"));
  p.options = options;
  p.rows = detail::make_nearest_axis_map(input_shape[1], output_height, options.align_corners);
  p.columns = detail::make_nearest_axis_map(input_shape[2], output_width, options.align_corners);
  return p;
}

template <class T>
constexpr result<resize_nearest_neighbor_params<T>> prepare_resize_nearest_neighbor(
    const quantization_params& input, const shape& input_shape, std::int32_t output_height, std::int32_t output_width,
    const resize_options& options, const quantization_params& output) noexcept {
  QKERN_TRY(detail::require_same_quantization<T>(input, output));
  return prepare_resize_nearest_neighbor<T>(input_shape, output_height, output_width, options);
}

namespace scalar {

template <class T>
constexpr void resize_nearest_neighbor(const resize_nearest_neighbor_params<T>& p, const T* input, T* output) noexcept {
  const std::int64_t batches = p.output[0];
  const std::int64_t channels = p.output[3];
  const std::int64_t input_row = std::int64_t{p.columns.input_size} * channels;
  const std::int64_t input_image = std::int64_t{p.rows.input_size} * input_row;
  for (std::int64_t b = 0; b < batches; ++b) {
    for (std::int32_t oy = 0; oy < p.rows.output_size; ++oy) {
      const T* row = input + b * input_image + nearest_source_index(p.rows, oy, p.options) * input_row;
      for (std::int32_t ox = 0; ox < p.columns.output_size; ++ox) {
        const T* pixel = row + nearest_source_index(p.columns, ox, p.options) * channels;
        for (std::int64_t c = 0; c < channels; ++c) *output++ = pixel[c];
      }
    }
  }
}

}  // namespace scalar

template <class T>
constexpr void resize_nearest_neighbor(const resize_nearest_neighbor_params<T>& p, const T* input, T* output) noexcept {
  scalar::resize_nearest_neighbor(p, input, output);
}

}  // namespace qkern
