// max_pool2d (int8, int16; NHWC): the largest input in each window, windows clipped to the
// input (padding never wins), then the fused activation's clamp. Rounding-independent.
//
//   qkern::pool2d_window w{3, 3, 2, 2, qkern::pool_padding::same};   // filter h, w; stride h, w
//   auto p = qkern::prepare_max_pool2d<std::int8_t>(q, input_shape, q, w);
//   if (p) qkern::max_pool2d(*p, in, out);                           // out has p->output's shape
#pragma once

#include <cstdint>
#include <limits>

#include "qkern/core/activation.hpp"
#include "qkern/core/quantization.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/pooling/window.hpp"

namespace qkern {

// The output must be quantized exactly like the input.
template <class T>
constexpr result<pool2d_params<T>> prepare_max_pool2d(const quantization_params& input, const shape& input_shape,
                                                      const quantization_params& output, const pool2d_window& window,
                                                      fused_activation activation = fused_activation::none) noexcept {
  return detail::prepare_pool2d<T>(input, input_shape, output, window, activation);
}

namespace scalar {

template <class T>
constexpr void max_pool2d(const pool2d_params<T>& p, const T* input, T* output) noexcept {
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
        for (std::int64_t c = 0; c < channels; ++c) {
          std::int32_t largest = std::numeric_limits<T>::lowest();
          for (std::int32_t y = ys.begin; y < ys.end; ++y) {
            for (std::int32_t x = xs.begin; x < xs.end; ++x) {
              const std::int32_t v = batch[y * row + x * channels + c];
              largest = v > largest ? v : largest;
            }
          }
          *output++ = detail::clamp_narrow<T>(largest, p.output_activation_min, p.output_activation_max);
        }
      }
    }
  }
}

}  // namespace scalar

template <class T>
constexpr void max_pool2d(const pool2d_params<T>& p, const T* input, T* output) noexcept {
  scalar::max_pool2d(p, input, output);
}

}  // namespace qkern
