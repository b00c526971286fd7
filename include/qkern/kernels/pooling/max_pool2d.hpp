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

#if QKERN_SIMD
#include <cstddef>

#include "qkern/simd/arch.hpp"
#include "qkern/simd/constant_evaluation.hpp"
#include "qkern/simd/partial_lanes.hpp"
#endif

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

// --- the SIMD path ---------------------------------------------------------------------------

#if QKERN_SIMD
namespace simd {
namespace detail {

// The windows, vectorised across the channels (NHWC keeps them contiguous): the lane-wise max of
// the taps, then the activation clamp. The channel remainder runs on partial loads and stores
// (their zero lanes are never stored). Width: see for_each_pool_tap.
template <class A, class T, int Width>
struct max_pool_kernel {
  using lanes_type = xsimd::batch<T, A>;
  static constexpr std::int64_t lanes = lanes_type::size;

  std::int64_t channels;
  std::int32_t filter_width;
  lanes_type lowest;
  lanes_type highest;

  template <class Load>
  lanes_type reduce(const T* origin, std::int32_t rows, std::int32_t columns, std::int64_t row_stride,
                    Load load) const noexcept {
    lanes_type largest(std::numeric_limits<T>::lowest());
    for_each_pool_tap<Width>(origin, rows, columns, row_stride, channels,
                             [&](const T* tap) { largest = xsimd::max(largest, load(tap)); });
    return xsimd::min(xsimd::max(largest, lowest), highest);
  }

  // The max of one column of `rows` taps.
  template <class Load>
  static lanes_type column(const T* top, std::int32_t rows, std::int64_t row_stride, Load load) noexcept {
    lanes_type largest = load(top);
    for (std::int32_t r = 1; r < rows; ++r) largest = xsimd::max(largest, load(top + r * row_stride));
    return largest;
  }

  // `count` interior windows of one channel block. A 3-wide filter with stride 2 shares one
  // column between neighbours: its max is carried over instead of recomputed.
  template <class Load, class Store>
  void interior(const T* first, std::int32_t rows, std::int64_t row_stride, std::int64_t column_step,
                std::int64_t count, T* out, Load load, Store store) const noexcept {
    if constexpr (Width == 3) {
      if (column_step == 2 * channels) {
        lanes_type shared = column(first, rows, row_stride, load);
        for (std::int64_t k = 0; k < count; ++k, first += column_step, out += channels) {
          const lanes_type middle = column(first + channels, rows, row_stride, load);
          const lanes_type next = column(first + 2 * channels, rows, row_stride, load);
          store(out, xsimd::min(xsimd::max(xsimd::max(xsimd::max(shared, middle), next), lowest), highest));
          shared = next;
        }
        return;
      }
    }
    for (std::int64_t k = 0; k < count; ++k, first += column_step, out += channels) {
      store(out, reduce(first, rows, filter_width, row_stride, load));
    }
  }

  template <class Visit>
  void for_each_block(Visit&& visit) const noexcept {
    std::int64_t c = 0;
    for (; c + lanes <= channels; c += lanes) {
      visit(c, [](const T* q) { return lanes_type::load_unaligned(q); },
            [](T* q, const lanes_type& v) { v.store_unaligned(q); });
    }
    if (c < channels) {
      const auto rest = static_cast<std::size_t>(channels - c);
      visit(c, [rest](const T* q) { return simd::load_partial<A>(q, rest); },
            [rest](T* q, const lanes_type& v) { simd::store_partial<A>(q, v, rest); });
    }
  }

  // A border window (for_each_pool_row's `window`).
  void operator()(const T* origin, std::int32_t rows, std::int32_t columns, std::int64_t row_stride,
                  T* out) const noexcept {
    for_each_block([&](std::int64_t c, auto load, auto store) {
      store(out + c, reduce(origin + c, rows, columns, row_stride, load));
    });
  }

  // The interior run of a row (for_each_pool_row's `run`).
  void operator()(const T* first, std::int32_t rows, std::int64_t row_stride, std::int64_t column_step,
                  std::int64_t count, T* out) const noexcept {
    for_each_block([&](std::int64_t c, auto load, auto store) {
      interior(first + c, rows, row_stride, column_step, count, out + c, load, store);
    });
  }
};

}  // namespace detail

// The vector path for arch A: bit-identical to scalar::max_pool2d.
template <class A = default_arch, class T>
void max_pool2d(const pool2d_params<T>& p, const T* input, T* output) noexcept {
  using lanes_type = xsimd::batch<T, A>;
  const lanes_type lowest(static_cast<T>(p.output_activation_min));
  const lanes_type highest(static_cast<T>(p.output_activation_max));
  detail::with_filter_width(p.window.filter_width, [&](auto width) {
    const detail::max_pool_kernel<A, T, decltype(width)::value> kernel{p.channels, p.window.filter_width, lowest,
                                                                       highest};
    detail::for_each_pool_row(p, input, output, kernel, kernel);
  });
}

}  // namespace simd
#endif  // QKERN_SIMD

// --- the public eval -------------------------------------------------------------------------

// output (shape p.output) = the clamped max of each window. The SIMD path when qkern is built
// with it (the scalar reference in constant expressions); both give the same bits.
template <class T>
constexpr void max_pool2d(const pool2d_params<T>& p, const T* input, T* output) noexcept {
#if QKERN_SIMD
  if (!simd::in_constant_evaluation()) {
    simd::max_pool2d(p, input, output);
    return;
  }
#endif
  scalar::max_pool2d(p, input, output);
}

}  // namespace qkern
