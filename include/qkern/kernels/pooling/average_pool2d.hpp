// average_pool2d (int8, int16; NHWC): the mean of the in-bounds inputs of each window (padding
// is not counted), rounded half away from zero as TFLite does, then the fused activation's
// clamp. No multiplier, so rounding-independent.
//
//   qkern::pool2d_window w{2, 2, 2, 2, qkern::pool_padding::valid};
//   auto p = qkern::prepare_average_pool2d<std::int8_t>(q, input_shape, q, w, qkern::fused_activation::relu);
//   if (p) qkern::average_pool2d(*p, in, out);
#pragma once

#include <cstdint>
#include <limits>

#include "qkern/core/activation.hpp"
#include "qkern/core/quantization.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/pooling/window.hpp"

namespace qkern {

// The output must be quantized exactly like the input. The window sum is an int32 (as in
// TFLite), so filter_height * filter_width * 2^(bits - 1) must fit int32.
template <class T>
constexpr result<pool2d_params<T>> prepare_average_pool2d(
    const quantization_params& input, const shape& input_shape, const quantization_params& output,
    const pool2d_window& window, fused_activation activation = fused_activation::none) noexcept {
  const auto p = detail::prepare_pool2d<T>(input, input_shape, output, window, activation);
  if (!p.ok()) return p;
  const std::int64_t area = std::int64_t{window.filter_height} * window.filter_width;
  const std::int64_t largest_sum = area * -std::int64_t{std::numeric_limits<T>::min()};
  if (largest_sum > std::numeric_limits<std::int32_t>::max()) {
    return status(status_code::overflow, "filter area is too large for an int32 window sum",
                  "filter_height * filter_width", area);
  }
  return p;
}

// round(sum / count), halves away from zero; count >= 1 (SAME and VALID windows always hold
// at least one input).
constexpr std::int32_t rounded_average(std::int32_t sum, std::int32_t count) noexcept {
  return sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
}

namespace scalar {

template <class T>
constexpr void average_pool2d(const pool2d_params<T>& p, const T* input, T* output) noexcept {
  const std::int64_t channels = p.channels;
  const std::int64_t row = std::int64_t{p.input_width} * channels;
  const std::int64_t image = std::int64_t{p.input_height} * row;
  for (std::int64_t b = 0; b < p.batches; ++b) {
    const T* batch = input + b * image;
    for (std::int32_t oy = 0; oy < p.output[1]; ++oy) {
      const auto ys =
          detail::clip_window(oy, p.window.stride_height, p.padding.height, p.window.filter_height, p.input_height);
      for (std::int32_t ox = 0; ox < p.output[2]; ++ox) {
        const auto xs =
            detail::clip_window(ox, p.window.stride_width, p.padding.width, p.window.filter_width, p.input_width);
        const std::int32_t count = (ys.end - ys.begin) * (xs.end - xs.begin);
        for (std::int64_t c = 0; c < channels; ++c) {
          std::int32_t sum = 0;
          for (std::int32_t y = ys.begin; y < ys.end; ++y) {
            for (std::int32_t x = xs.begin; x < xs.end; ++x) sum += batch[y * row + x * channels + c];
          }
          *output++ =
              detail::clamp_narrow<T>(rounded_average(sum, count), p.output_activation_min, p.output_activation_max);
        }
      }
    }
  }
}

}  // namespace scalar

template <class T>
constexpr void average_pool2d(const pool2d_params<T>& p, const T* input, T* output) noexcept {
  scalar::average_pool2d(p, input, output);
}

}  // namespace qkern
