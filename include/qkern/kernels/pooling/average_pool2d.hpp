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

#if QKERN_SIMD
#include <array>
#include <cstddef>
#include <type_traits>

#include "qkern/simd/arch.hpp"
#include "qkern/simd/constant_evaluation.hpp"
#include "qkern/simd/convert.hpp"
#include "qkern/simd/int8_lane_sums.hpp"
#include "qkern/simd/partial_lanes.hpp"
#include "qkern/simd/rounded_division.hpp"
#endif

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

// --- the SIMD path ---------------------------------------------------------------------------

#if QKERN_SIMD
namespace simd {
namespace detail {

// The lanes of one batch of T widened to Sum, in lane order, and back with saturation.
template <class Sum, class A, class T>
auto widen_to(const xsimd::batch<T, A>& v) noexcept {
  if constexpr (std::is_same<Sum, widened_t<T>>::value) {
    return std::array<xsimd::batch<Sum, A>, 2>{simd::widen_low(v), simd::widen_high(v)};
  } else {
    static_assert(std::is_same<T, std::int8_t>::value && std::is_same<Sum, std::int32_t>::value, "int8 -> int32");
    const auto low = simd::widen_low(v);
    const auto high = simd::widen_high(v);
    return std::array<xsimd::batch<Sum, A>, 4>{simd::widen_low(low), simd::widen_high(low), simd::widen_low(high), simd::widen_high(high)};
  }
}

template <class T, class A, class Sum>
xsimd::batch<T, A> narrow_from(const std::array<xsimd::batch<Sum, A>, 2>& parts) noexcept {
  return simd::saturating_narrow<T>(parts[0], parts[1]);
}
template <class T, class A>
xsimd::batch<T, A> narrow_from(const std::array<xsimd::batch<std::int32_t, A>, 4>& parts) noexcept {
  return simd::saturating_narrow<T>(parts[0], parts[1], parts[2], parts[3]);
}

// The windows, vectorised across the channels: the taps summed lane-wise in Sum (exact, as the
// scalar's int32 sum is: int16 for int8 windows of at most 256 taps, through int8_word_sums,
// which adds them in pairs; else int32), divided by the tap count with rounded_divide
// (simd/rounded_division.hpp, exact for every sum the count allows; the division works lane by
// lane, so the sums' lane layout does not matter), narrowed and clamped. Reciprocal is
// u16_reciprocal for int16 sums, float_reciprocal for int32 ones. The count changes only at the
// borders: the last one is kept, and an interior run sets it once.
template <class A, class T, class Sum, class Reciprocal, int Width>
struct average_pool_kernel {
  using lanes_type = xsimd::batch<T, A>;
  static constexpr std::int64_t lanes = lanes_type::size;
  static constexpr bool word_sums = std::is_same<Sum, std::int16_t>::value;

  const pool2d_params<T>& p;
  lanes_type lowest;
  lanes_type highest;
  mutable Reciprocal reciprocal{};
  mutable std::int32_t reciprocal_count = 0;  // the count `reciprocal` is for; 0: none yet
  mutable bool reciprocal_ok = false;

  static bool make(std::int32_t count, Reciprocal& r) noexcept {
    const std::int64_t max_abs_sum = std::int64_t{count} * -std::int64_t{std::numeric_limits<T>::min()};
    if constexpr (std::is_same<Reciprocal, u16_reciprocal>::value) {
      return max_abs_sum <= 32768 && make_u16_reciprocal(count, static_cast<std::int32_t>(max_abs_sum), r);
    } else {
      return make_float_reciprocal(count, max_abs_sum, r);
    }
  }

  // Makes `reciprocal` the one of count; false where no vector form is proven for it.
  bool use_count(std::int32_t count) const noexcept {
    if (count != reciprocal_count) {
      reciprocal_ok = make(count, reciprocal);
      reciprocal_count = count;
    }
    return reciprocal_ok;
  }

  template <class Load>
  lanes_type average(const T* origin, std::int32_t rows, std::int32_t columns, std::int64_t row_stride,
                     Load load) const noexcept {
    const std::int64_t channels = p.channels;
    if constexpr (word_sums) {
      int8_word_sums<A> sums;
      const lanes_type zero(T{0});
      // One row of n taps, by pairs (an odd last one with zeros).
      const auto add_row = [&](const T* tap, auto n) {
        std::int32_t x = 0;
        for (; x + 1 < n; x += 2) sums.add_pair(load(tap + x * channels), load(tap + (x + 1) * channels));
        if (x < n) sums.add_pair(load(tap + x * channels), zero);
      };
      bool done = false;
      if constexpr (Width > 0) {
        if (columns == Width) {
          for (std::int32_t r = 0; r < rows; ++r) add_row(origin + r * row_stride, std::integral_constant<std::int32_t, Width>{});
          done = true;
        }
      }
      if (!done) {
        for (std::int32_t r = 0; r < rows; ++r) add_row(origin + r * row_stride, columns);
      }
      return xsimd::min(xsimd::max(int8_word_sums<A>::narrow(simd::rounded_divide(sums.low, reciprocal),
                                                             simd::rounded_divide(sums.high, reciprocal)),
                                   lowest),
                        highest);
    } else {
      auto sum = widen_to<Sum>(lanes_type(T{0}));
      for_each_pool_tap<Width>(origin, rows, columns, row_stride, channels, [&](const T* tap) {
        const auto v = widen_to<Sum>(load(tap));
        for (std::size_t k = 0; k < sum.size(); ++k) sum[k] += v[k];
      });
      for (auto& part : sum) part = simd::rounded_divide(part, reciprocal);
      return xsimd::min(xsimd::max(narrow_from<T>(sum), lowest), highest);
    }
  }

  // The scalar spec for one window (for a count without a vector form: not reached for the
  // windows eval sends here, tests/pooling_simd proves every count, but kept so that such a
  // count would still get the scalar's answer).
  void average_scalar(const T* origin, std::int32_t rows, std::int32_t columns, std::int64_t row_stride,
                      T* out) const noexcept {
    const std::int64_t channels = p.channels;
    for (std::int64_t c = 0; c < channels; ++c) {
      std::int32_t sum = 0;
      for (std::int32_t r = 0; r < rows; ++r) {
        for (std::int32_t x = 0; x < columns; ++x) sum += origin[r * row_stride + x * channels + c];
      }
      out[c] = ::qkern::detail::clamp_narrow<T>(rounded_average(sum, rows * columns), p.output_activation_min,
                                                p.output_activation_max);
    }
  }

  template <class Visit>
  void for_each_block(Visit&& visit) const noexcept {
    const std::int64_t channels = p.channels;
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
    if (!use_count(rows * columns)) return average_scalar(origin, rows, columns, row_stride, out);
    for_each_block([&](std::int64_t c, auto load, auto store) {
      store(out + c, average(origin + c, rows, columns, row_stride, load));
    });
  }

  // The interior run of a row (for_each_pool_row's `run`): one count for all of it.
  void operator()(const T* first, std::int32_t rows, std::int64_t row_stride, std::int64_t column_step,
                  std::int64_t count, T* out) const noexcept {
    const std::int32_t columns = p.window.filter_width;
    const std::int64_t channels = p.channels;
    if (!use_count(rows * columns)) {
      for (std::int64_t k = 0; k < count; ++k) {
        average_scalar(first + k * column_step, rows, columns, row_stride, out + k * channels);
      }
      return;
    }
    for_each_block([&](std::int64_t c, auto load, auto store) {
      const T* window = first + c;
      T* o = out + c;
      for (std::int64_t k = 0; k < count; ++k, window += column_step, o += channels) {
        store(o, average(window, rows, columns, row_stride, load));
      }
    });
  }
};

template <class A, class T, class Sum, class Reciprocal>
void run_average_pool2d(const pool2d_params<T>& p, const T* input, T* output) noexcept {
  using lanes_type = xsimd::batch<T, A>;
  const lanes_type lowest(static_cast<T>(p.output_activation_min));
  const lanes_type highest(static_cast<T>(p.output_activation_max));
  with_filter_width(p.window.filter_width, [&](auto width) {
    const average_pool_kernel<A, T, Sum, Reciprocal, decltype(width)::value> kernel{p, lowest, highest};
    for_each_pool_row(p, input, output, kernel, kernel);
  });
}

}  // namespace detail

// The vector path for arch A: bit-identical to scalar::average_pool2d. int8 windows of up to 256
// taps sum in int16 lanes; other windows whose sums stay below 2^21 in magnitude (int8: up to
// 16320 taps, int16: up to 63) in int32 lanes; larger ones run the scalar reference.
template <class A = default_arch, class T>
void average_pool2d(const pool2d_params<T>& p, const T* input, T* output) noexcept {
  const std::int64_t area = std::int64_t{p.window.filter_height} * p.window.filter_width;
  const std::int64_t largest_sum = area * -std::int64_t{std::numeric_limits<T>::min()};
  if constexpr (std::is_same<T, std::int8_t>::value) {
    if (largest_sum <= 32768) {
      detail::run_average_pool2d<A, T, std::int16_t, u16_reciprocal>(p, input, output);
      return;
    }
  }
  if (largest_sum + area / 2 < (std::int64_t{1} << 21) - 1) {
    detail::run_average_pool2d<A, T, std::int32_t, float_reciprocal>(p, input, output);
  } else {
    scalar::average_pool2d(p, input, output);
  }
}

}  // namespace simd
#endif  // QKERN_SIMD

// --- the public eval -------------------------------------------------------------------------

// output (shape p.output) = the clamped, rounded mean of each window's in-bounds taps. The SIMD
// path when qkern is built with it (the scalar reference in constant expressions); both give
// the same bits.
template <class T>
constexpr void average_pool2d(const pool2d_params<T>& p, const T* input, T* output) noexcept {
#if QKERN_SIMD
  if (!simd::in_constant_evaluation()) {
    simd::average_pool2d(p, input, output);
    return;
  }
#endif
  scalar::average_pool2d(p, input, output);
}

}  // namespace qkern
