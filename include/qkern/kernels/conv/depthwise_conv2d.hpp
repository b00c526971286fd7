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
//
// int8 with depth multiplier 1 runs a SIMD path when qkern is built with it, bit-identical to
// scalar::depthwise_conv2d. With AVX-512 VNNI, filters of up to 4 rows and 3 or 5 columns
// (horizontal stride 1 or 2, horizontal dilation 1) take depthwise_conv2d_vnni.hpp: the
// vertical taps of a filter column in one vpdpbusd, 64 channels per column vector. Otherwise:
// 16 channels at a time, one widened multiply-add per tap and lane (int16_mac: vpdpwssd with
// VNNI), 8 output pixels at a time (with AVX-512; neighbouring windows of 3- and 5-wide
// filters share their widened input columns), padding taps read as the input zero point so
// that every pixel shares one bias correction, and the per-channel requantization of
// simd/requantize_lanes.hpp. No packing and no scratch: the weights and constants of up to 8
// blocks of 16 channels live on the stack (about 22 KiB with AVX-512).
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
#include "qkern/kernels/conv/gemm.hpp"
#include "qkern/kernels/conv/multipliers.hpp"
#include "qkern/kernels/conv/packed_weights.hpp"
#include "qkern/kernels/conv/padding.hpp"

#if QKERN_SIMD
#include "qkern/kernels/conv/depthwise_conv2d_vnni.hpp"
#include "qkern/kernels/conv/gemm_simd.hpp"  // QKERN_CONV_UNROLL
#include "qkern/simd/arch.hpp"
#include "qkern/simd/dot_product.hpp"
#include "qkern/simd/lanewise.hpp"
#include "qkern/simd/load_widened.hpp"
#include "qkern/simd/requantize_lanes.hpp"
#endif

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

namespace detail {

// One output element of depthwise_conv2d, as the reference computes it.
template <class T, class Policy, class Bias>
constexpr T depthwise_element(const depthwise_conv2d_params<T, Policy, Bias>& p, const T* input,
                              const std::int8_t* filter, const Bias* bias, std::int32_t b, std::int32_t oy,
                              std::int32_t ox, std::int32_t oc) noexcept {
  using accumulator = accumulator_t<T, Bias>;
  const shape& in = p.input_shape;
  const shape& f = p.filter_shape;
  const std::int32_t y_origin = oy * p.stride_height - p.padding.height;
  const std::int32_t x_origin = ox * p.stride_width - p.padding.width;
  const std::int32_t ic = oc / p.depth_multiplier;
  accumulator acc = 0;
  for (std::int32_t fy = 0; fy < f[1]; ++fy) {
    const std::int32_t iy = y_origin + fy * p.dilation_height;
    if (iy < 0 || iy >= in[1]) continue;
    for (std::int32_t fx = 0; fx < f[2]; ++fx) {
      const std::int32_t ix = x_origin + fx * p.dilation_width;
      if (ix < 0 || ix >= in[2]) continue;
      acc += (input[offset4(in, b, iy, ix, ic)] + p.input_offset) * filter[offset4(f, 0, fy, fx, oc)];
    }
  }
  if (bias != nullptr) acc += bias[oc];
  return requantize_accumulator<T, Policy>(acc, p.output_multipliers[oc], p.output_offset, p.output_activation_min,
                                           p.output_activation_max);
}

}  // namespace detail

namespace scalar {

template <class T, class Policy, class Bias>
constexpr void depthwise_conv2d(const depthwise_conv2d_params<T, Policy, Bias>& p, const T* input,
                                const std::int8_t* filter, const Bias* bias, T* output) noexcept {
  const shape& out = p.output_shape;
  for (std::int32_t b = 0; b < out[0]; ++b) {
    for (std::int32_t oy = 0; oy < out[1]; ++oy) {
      for (std::int32_t ox = 0; ox < out[2]; ++ox) {
        for (std::int32_t oc = 0; oc < out[3]; ++oc) {
          output[detail::offset4(out, b, oy, ox, oc)] = detail::depthwise_element(p, input, filter, bias, b, oy, ox, oc);
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

// Filters of more taps run the scalar reference.
inline constexpr std::int32_t depthwise_max_taps = 64;

// Where depthwise_columns reads.
struct depthwise_row_geometry {
  std::int32_t in_h, in_w, dilation_h;
  std::ptrdiff_t row_stride;     // in_w · channels
  std::ptrdiff_t column_stride;  // channels
};

// P output pixels of one output row, 16 channels (one vector of lanes), KW taps per filter
// row, horizontal stride S, horizontal dilation 1. Neighbouring windows share input columns:
// each filter row loads and widens the (P - 1)·S + KW columns it spans once, instead of P·KW
// times. Columns and filter rows outside the input read the zero point.
//   image: the input image at this block's first channel; y0, x0: the first window's origin.
template <class A, int KW, int S, int P>
void depthwise_columns(const std::int8_t* image, std::int32_t y0, std::int32_t x0, const depthwise_row_geometry& g,
                       std::int32_t kh, const xsimd::batch<std::int32_t, A>* weights,
                       const xsimd::batch<std::int32_t, A>& bias, const std::int8_t* zero_points,
                       xsimd::batch<std::int32_t, A> (&acc)[P]) noexcept {
  using dwords = xsimd::batch<std::int32_t, A>;
  constexpr int columns = (P - 1) * S + KW;
  dwords sums[P];  // local, so that they stay in registers (acc may alias the inputs)
  QKERN_CONV_UNROLL
  for (int q = 0; q < P; ++q) sums[q] = bias;
  for (std::int32_t fy = 0; fy < kh; ++fy, weights += KW) {
    const std::int32_t iy = y0 + fy * g.dilation_h;
    const bool row_inside = iy >= 0 && iy < g.in_h;
    const std::int8_t* row = image + static_cast<std::ptrdiff_t>(row_inside ? iy : 0) * g.row_stride;
    // One load per column, from the input or (padding) from the zero points: no branches, so
    // the columns stay in registers.
    dwords column[columns];
    QKERN_CONV_UNROLL
    for (int c = 0; c < columns; ++c) {
      const std::int32_t ix = x0 + c;
      const bool inside = row_inside && ix >= 0 && ix < g.in_w;
      column[c] = ::qkern::simd::load_widened<A>(inside ? row + ix * g.column_stride : zero_points);
    }
    QKERN_CONV_UNROLL
    for (int fx = 0; fx < KW; ++fx) {
      const dwords w = weights[fx];
      QKERN_CONV_UNROLL
      for (int q = 0; q < P; ++q) sums[q] = ::qkern::simd::int16_mac(sums[q], column[q * S + fx], w);
    }
  }
  QKERN_CONV_UNROLL
  for (int q = 0; q < P; ++q) acc[q] = sums[q];
}

// acc[q] = requantize_fused_lanes(acc[q], f, sign, after) for every q, with the two flags
// taken out of the loop (one specialised loop per combination).
template <class A, bool Sign, bool After, int P>
QKERN_CONV_ALWAYS_INLINE inline void requantize_pixels_as(xsimd::batch<std::int32_t, A> (&acc)[P],
                                                          const fused_lanes<A>& f) noexcept {
  QKERN_CONV_UNROLL
  for (int q = 0; q < P; ++q) acc[q] = ::qkern::simd::requantize_fused_lanes(acc[q], f, Sign, After);
}
template <class A, int P>
inline void requantize_pixels(xsimd::batch<std::int32_t, A> (&acc)[P], const fused_lanes<A>& f, bool sign,
                              bool after) noexcept {
  if (sign) {
    if (after) return requantize_pixels_as<A, true, true>(acc, f);
    return requantize_pixels_as<A, true, false>(acc, f);
  }
  if (after) return requantize_pixels_as<A, false, true>(acc, f);
  requantize_pixels_as<A, false, false>(acc, f);
}

// Depth multiplier 1, int8: channels [0, C - C % 16) by blocks of 16, the rest per element.
//
// Blocks are prepared a group at a time (their weights in int16_mac's lane form, bias with the
// input offset folded in, requantization constants); then the output is swept once per group,
// `pixels` pixels of a row at a time, every block of the group for those pixels, so that the
// output and input lines are used whole while in L1. Padding taps read the input zero point,
// which contributes nothing once the bias carries input_offset·Σw.
template <class A, class Policy>
class depthwise_int8 {
  using dwords = xsimd::batch<std::int32_t, A>;
  static constexpr std::int32_t lanes = static_cast<std::int32_t>(dwords::size);
  static_assert(packed_block_channels % lanes == 0, "a block is a whole number of vectors");
  static constexpr std::int32_t per_block = packed_block_channels / lanes;
  // Output pixels computed together (independent accumulator chains hide the multiply-add
  // latency and share the weights).
  static constexpr std::int32_t pixels = per_block >= 8 ? 1 : 8 / per_block;
  static constexpr std::int32_t max_group = 8;         // blocks prepared at once
  static constexpr std::int32_t weight_budget = 256;   // weight vectors on the stack
  static_assert(depthwise_max_taps * per_block <= weight_budget, "one block always fits");

  using column_kernel = void (*)(const std::int8_t*, std::int32_t, std::int32_t, const depthwise_row_geometry&,
                                 std::int32_t, const dwords*, const dwords&, const std::int8_t*, dwords (&)[pixels]) noexcept;

  const depthwise_conv2d_params<std::int8_t, Policy, std::int32_t>& p;
  const std::int8_t* input;
  const std::int8_t* filter;
  const std::int32_t* bias;
  std::int8_t* output;
  std::int32_t in_h, in_w, out_h, out_w, kh, kw, taps, channels;
  std::ptrdiff_t tap_offset[depthwise_max_taps];
  std::ptrdiff_t pixel_offset[pixels];
  depthwise_row_geometry row_geometry;
  column_kernel columns = nullptr;
  alignas(64) std::int8_t zero_points[packed_block_channels];  // what a padding tap reads
  int8_output_range<A> range;

  // The prepared group.
  std::int32_t group_blocks = 0;
  alignas(64) dwords weights[weight_budget];  // [block][tap][vector]
  dwords bias_lanes[max_group][per_block];
  packed_block_header headers[max_group];

 public:
  depthwise_int8(const depthwise_conv2d_params<std::int8_t, Policy, std::int32_t>& params, const std::int8_t* in,
                 const std::int8_t* f, const std::int32_t* b, std::int8_t* out) noexcept
      : p(params),
        input(in),
        filter(f),
        bias(b),
        output(out),
        in_h(params.input_shape[1]),
        in_w(params.input_shape[2]),
        out_h(params.output_shape[1]),
        out_w(params.output_shape[2]),
        kh(params.filter_shape[1]),
        kw(params.filter_shape[2]),
        taps(kh * kw),
        channels(params.output_shape[3]),
        range(params.output_activation_min, params.output_activation_max, params.output_offset) {
    for (std::int32_t fy = 0; fy < kh; ++fy) {
      for (std::int32_t fx = 0; fx < kw; ++fx) {
        tap_offset[fy * kw + fx] = (static_cast<std::ptrdiff_t>(fy) * p.dilation_height * in_w +
                                    static_cast<std::ptrdiff_t>(fx) * p.dilation_width) *
                                   channels;
      }
    }
    for (std::int32_t q = 0; q < pixels; ++q) pixel_offset[q] = q * static_cast<std::ptrdiff_t>(p.stride_width) * channels;
    row_geometry = {in_h, in_w, p.dilation_height, static_cast<std::ptrdiff_t>(in_w) * channels,
                    static_cast<std::ptrdiff_t>(channels)};
    for (auto& z : zero_points) z = static_cast<std::int8_t>(-p.input_offset);
    if constexpr (per_block == 1) {
      if (p.dilation_width == 1) {
        if (kw == 3 && p.stride_width == 1) columns = depthwise_columns<A, 3, 1, pixels>;
        if (kw == 3 && p.stride_width == 2) columns = depthwise_columns<A, 3, 2, pixels>;
        if (kw == 5 && p.stride_width == 1) columns = depthwise_columns<A, 5, 1, pixels>;
        if (kw == 5 && p.stride_width == 2) columns = depthwise_columns<A, 5, 2, pixels>;
      }
    }
  }

  void run() noexcept {
    const std::int32_t blocks = channels / packed_block_channels;
    std::int32_t group = weight_budget / (taps * per_block);
    if (group > max_group) group = max_group;
    for (std::int32_t first = 0; first < blocks; first += group) {
      prepare(first, blocks - first < group ? blocks - first : group);
      for (std::int32_t b = 0; b < p.output_shape[0]; ++b) {
        for (std::int32_t oy = 0; oy < out_h; ++oy) row(first, b, oy);
      }
    }
    // Channels past the last full block.
    const std::int32_t vector_channels = blocks * packed_block_channels;
    if (vector_channels < channels) {
      for (std::int32_t b = 0; b < p.output_shape[0]; ++b) {
        for (std::int32_t oy = 0; oy < out_h; ++oy) {
          for (std::int32_t ox = 0; ox < out_w; ++ox) {
            for (std::int32_t oc = vector_channels; oc < channels; ++oc) {
              output[::qkern::detail::offset4(p.output_shape, b, oy, ox, oc)] =
                  ::qkern::detail::depthwise_element(p, input, filter, bias, b, oy, ox, oc);
            }
          }
        }
      }
    }
  }

 private:
  void prepare(std::int32_t first, std::int32_t count) noexcept {
    group_blocks = count;
    for (std::int32_t k = 0; k < count; ++k) {
      const std::int32_t c0 = (first + k) * packed_block_channels;
      packed_block_header& h = headers[k];
      h = ::qkern::detail::empty_header();
      bool all_fused = true;
      for (std::int32_t l = 0; l < packed_block_channels; ++l) {
        std::int64_t sum = 0;
        std::int64_t sum_abs = 0;
        for (std::int32_t t = 0; t < taps; ++t) {
          const std::int8_t w = filter[static_cast<std::size_t>(t) * static_cast<std::size_t>(channels) +
                                       static_cast<std::size_t>(c0 + l)];
          sum += w;
          sum_abs += w < 0 ? -w : w;
        }
        const std::int64_t b = bias != nullptr ? bias[c0 + l] : 0;
        ::qkern::detail::fill_header_lane<Policy>(h, l, sum, sum_abs, b, p.output_multipliers[c0 + l], p.input_offset,
                                                  p.output_offset, &all_fused, nullptr);
      }
      ::qkern::detail::finish_header<Policy>(h, all_fused, false);
      for (std::int32_t v = 0; v < per_block; ++v) bias_lanes[k][v] = dwords::load_unaligned(h.bias_signed + v * lanes);
      for (std::int32_t t = 0; t < taps; ++t) {
        for (std::int32_t v = 0; v < per_block; ++v) {
          alignas(64) std::int32_t w[lanes];
          for (std::int32_t i = 0; i < lanes; ++i) {
            w[i] = ::qkern::simd::int16_mac_weight<A>(filter[static_cast<std::size_t>(t) * static_cast<std::size_t>(channels) +
                                                             static_cast<std::size_t>(c0 + v * lanes + i)]);
          }
          weights[(k * taps + t) * per_block + v] = dwords::load_aligned(w);
        }
      }
    }
  }

  // Requantizes one pixel's accumulators of block k and stores its 16 channels at dst.
  void finish(std::int32_t k, std::int32_t c0, const dwords* acc, std::int8_t* dst) const noexcept {
    const packed_block_header& h = headers[k];
    const auto kind = static_cast<packed_requantization>(h.requantization);
    for (std::int32_t v = 0; v < per_block; ++v) {
      const std::int32_t lane0 = v * lanes;
      std::int8_t* d = dst + lane0;
      if (kind == packed_requantization::fused) {
        const fused_lane_constants fused{h.multiplier + lane0,       h.pre_shift + lane0,   h.constant_even + lane0 / 2,
                                         h.constant_odd + lane0 / 2, h.final_shift + lane0, h.sign_mask + lane0,
                                         h.zero_point_after + lane0};
        ::qkern::simd::store_int8_lanes(::qkern::simd::requantize_fused_lanes(acc[v], fused, h.has_sign_correction != 0,
                                                                              h.has_zero_point_after != 0),
                                        range, d, static_cast<std::size_t>(lanes));
      } else if (kind == packed_requantization::fp32) {
        ::qkern::simd::store_int8_lanes(::qkern::simd::requantize_fp32_lanes(acc[v], h.scale + lane0, range), range, d,
                                        static_cast<std::size_t>(lanes));
      } else {
        const auto values = lanes_of(acc[v]);
        for (std::int32_t i = 0; i < lanes; ++i) {
          d[i] = ::qkern::detail::requantize_accumulator<std::int8_t, Policy>(
              values[static_cast<std::size_t>(i)], p.output_multipliers[c0 + lane0 + i], p.output_offset,
              p.output_activation_min, p.output_activation_max);
        }
      }
    }
  }

  // One output row of the prepared group.
  void row(std::int32_t first, std::int32_t b, std::int32_t oy) noexcept {
    const std::int8_t* image =
        input + static_cast<std::size_t>(b) * static_cast<std::size_t>(in_h) * static_cast<std::size_t>(in_w) *
                    static_cast<std::size_t>(channels) +
        static_cast<std::size_t>(first) * packed_block_channels;
    std::int8_t* out_row = output +
                           ((static_cast<std::size_t>(b) * static_cast<std::size_t>(out_h) + static_cast<std::size_t>(oy)) *
                            static_cast<std::size_t>(out_w)) *
                               static_cast<std::size_t>(channels) +
                           static_cast<std::size_t>(first) * packed_block_channels;
    const std::int32_t y0 = oy * p.stride_height - p.padding.height;
    if (columns != nullptr) {
      // The whole row through the shared-column kernel (it handles the padding). When the row
      // has `pixels` or more outputs, the last group overlaps the one before (its pixels are
      // computed twice, identically) rather than running short.
      for (std::int32_t ox = 0; ox < out_w; ox += pixels) {
        if (ox + pixels > out_w && out_w >= pixels) ox = out_w - pixels;
        columns_group(first, image, y0, out_row, ox, out_w - ox < pixels ? out_w - ox : pixels);
      }
      return;
    }
    const bool rows_inside = y0 >= 0 && y0 + (kh - 1) * p.dilation_height < in_h;
    // Columns whose whole window lies inside the input: [x_first, x_last).
    std::int32_t x_first = 0;
    while (x_first < out_w && x_first * p.stride_width - p.padding.width < 0) ++x_first;
    std::int32_t x_last = x_first;
    while (x_last < out_w && x_last * p.stride_width - p.padding.width + (kw - 1) * p.dilation_width < in_w) ++x_last;
    if (!rows_inside || x_last - x_first < pixels) {
      border(first, image, y0, out_row, 0, out_w);
      return;
    }
    border(first, image, y0, out_row, 0, x_first);
    // Inside: the last group overlaps the one before (its pixels are computed twice,
    // identically) rather than running short.
    for (std::int32_t ox = x_first;; ox += pixels) {
      if (ox + pixels > x_last) ox = x_last - pixels;
      inside(first, image, y0, out_row, ox);
      if (ox + pixels == x_last) break;
    }
    border(first, image, y0, out_row, x_last, out_w);
  }

  // `count` (<= pixels) pixels from column ox through the shared-column kernel, every block of
  // the group (one vector per block).
  void columns_group(std::int32_t first, const std::int8_t* image, std::int32_t y0, std::int8_t* out_row,
                     std::int32_t ox, std::int32_t count) noexcept {
    if constexpr (per_block == 1) {
      const std::int32_t x0 = ox * p.stride_width - p.padding.width;
      std::int8_t* dst = out_row + static_cast<std::size_t>(ox) * static_cast<std::size_t>(channels);
      for (std::int32_t k = 0; k < group_blocks; ++k) {
        dwords acc[pixels];
        columns(image + static_cast<std::size_t>(k) * packed_block_channels, y0, x0, row_geometry, kh,
                weights + static_cast<std::size_t>(k * taps), bias_lanes[k][0], zero_points, acc);
        std::int8_t* block_dst = dst + static_cast<std::size_t>(k) * packed_block_channels;
        const packed_block_header& h = headers[k];
        if (h.requantization == static_cast<std::int32_t>(packed_requantization::fused)) {
          const fused_lanes<A> f = ::qkern::simd::load_fused_lanes<A>(
              {h.multiplier, h.pre_shift, h.constant_even, h.constant_odd, h.final_shift, h.sign_mask,
               h.zero_point_after});
          requantize_pixels<A>(acc, f, h.has_sign_correction != 0, h.has_zero_point_after != 0);
          for (std::int32_t q = 0; q < count; ++q) {
            ::qkern::simd::store_int8_lanes(acc[q], range, block_dst + static_cast<std::size_t>(q) * static_cast<std::size_t>(channels),
                                            static_cast<std::size_t>(lanes));
          }
        } else {
          for (std::int32_t q = 0; q < count; ++q) {
            finish(k, (first + k) * packed_block_channels, &acc[q],
                   block_dst + static_cast<std::size_t>(q) * static_cast<std::size_t>(channels));
          }
        }
      }
    } else {
      (void)first, (void)image, (void)y0, (void)out_row, (void)ox, (void)count;
    }
  }

  // `pixels` pixels from column ox, all windows inside the input, every block of the group.
  void inside(std::int32_t first, const std::int8_t* image, std::int32_t y0, std::int8_t* out_row,
              std::int32_t ox) noexcept {
    const std::int32_t x0 = ox * p.stride_width - p.padding.width;
    const std::int8_t* origin =
        image + (static_cast<std::ptrdiff_t>(y0) * in_w + x0) * static_cast<std::ptrdiff_t>(channels);
    std::int8_t* dst = out_row + static_cast<std::size_t>(ox) * static_cast<std::size_t>(channels);
    for (std::int32_t k = 0; k < group_blocks; ++k, origin += packed_block_channels, dst += packed_block_channels) {
      const dwords* w = weights + static_cast<std::size_t>(k * taps * per_block);
      dwords acc[pixels][per_block];
      {
        QKERN_CONV_UNROLL
        for (std::int32_t q = 0; q < pixels; ++q) {
          QKERN_CONV_UNROLL
          for (std::int32_t v = 0; v < per_block; ++v) acc[q][v] = bias_lanes[k][v];
        }
        for (std::int32_t t = 0; t < taps; ++t) {
          const std::int8_t* x = origin + tap_offset[t];
          QKERN_CONV_UNROLL
          for (std::int32_t v = 0; v < per_block; ++v) {
            const dwords wv = w[t * per_block + v];
            QKERN_CONV_UNROLL
            for (std::int32_t q = 0; q < pixels; ++q) {
              acc[q][v] =
                  ::qkern::simd::int16_mac(acc[q][v], ::qkern::simd::load_widened<A>(x + pixel_offset[q] + v * lanes), wv);
            }
          }
        }
      }
      const std::int32_t c0 = (first + k) * packed_block_channels;
      const packed_block_header& h = headers[k];
      if (h.requantization == static_cast<std::int32_t>(packed_requantization::fused)) {
        // the constants loaded once for the `pixels` pixels
        const bool sign = h.has_sign_correction != 0;
        const bool after = h.has_zero_point_after != 0;
        QKERN_CONV_UNROLL
        for (std::int32_t v = 0; v < per_block; ++v) {
          const std::int32_t lane0 = v * lanes;
          const fused_lanes<A> f = ::qkern::simd::load_fused_lanes<A>(
              {h.multiplier + lane0, h.pre_shift + lane0, h.constant_even + lane0 / 2, h.constant_odd + lane0 / 2,
               h.final_shift + lane0, h.sign_mask + lane0, h.zero_point_after + lane0});
          QKERN_CONV_UNROLL
          for (std::int32_t q = 0; q < pixels; ++q) acc[q][v] = ::qkern::simd::requantize_fused_lanes(acc[q][v], f, sign, after);
        }
        QKERN_CONV_UNROLL
        for (std::int32_t q = 0; q < pixels; ++q) {
          ::qkern::simd::store_int8_vectors(acc[q], range, dst + static_cast<std::size_t>(q) * static_cast<std::size_t>(channels));
        }
        continue;
      }
      for (std::int32_t q = 0; q < pixels; ++q) {
        finish(k, c0, acc[q], dst + static_cast<std::size_t>(q) * static_cast<std::size_t>(channels));
      }
    }
  }

  // Columns [begin, end) of a row, `pixels` at a time (independent accumulators), checking
  // every tap against the padding.
  void border(std::int32_t first, const std::int8_t* image, std::int32_t y0, std::int8_t* out_row, std::int32_t begin,
              std::int32_t end) noexcept {
    for (std::int32_t ox = begin; ox < end; ox += pixels) {
      const std::int32_t count = end - ox < pixels ? end - ox : pixels;
      // Per tap and pixel: the input offset of the window's tap, or -1 for padding.
      std::ptrdiff_t offset[depthwise_max_taps][pixels];
      for (std::int32_t fy = 0; fy < kh; ++fy) {
        const std::int32_t iy = y0 + fy * p.dilation_height;
        for (std::int32_t fx = 0; fx < kw; ++fx) {
          for (std::int32_t q = 0; q < pixels; ++q) {
            const std::int32_t ix = (ox + (q < count ? q : count - 1)) * p.stride_width - p.padding.width +
                                    fx * p.dilation_width;
            offset[fy * kw + fx][q] = iy < 0 || iy >= in_h || ix < 0 || ix >= in_w
                                          ? -1
                                          : (static_cast<std::ptrdiff_t>(iy) * in_w + ix) * channels;
          }
        }
      }
      for (std::int32_t k = 0; k < group_blocks; ++k) {
        const dwords* w = weights + static_cast<std::size_t>(k * taps * per_block);
        const std::int8_t* block_image = image + static_cast<std::size_t>(k) * packed_block_channels;
        dwords acc[pixels][per_block];
        for (std::int32_t q = 0; q < pixels; ++q) {
          for (std::int32_t v = 0; v < per_block; ++v) acc[q][v] = bias_lanes[k][v];
        }
        for (std::int32_t t = 0; t < taps; ++t) {
          for (std::int32_t v = 0; v < per_block; ++v) {
            const dwords wv = w[t * per_block + v];
            QKERN_CONV_UNROLL
            for (std::int32_t q = 0; q < pixels; ++q) {
              const std::int8_t* x = offset[t][q] < 0 ? zero_points : block_image + offset[t][q];
              acc[q][v] = ::qkern::simd::int16_mac(acc[q][v], ::qkern::simd::load_widened<A>(x + v * lanes), wv);
            }
          }
        }
        const std::int32_t c0 = (first + k) * packed_block_channels;
        for (std::int32_t q = 0; q < count; ++q) {
          finish(k, c0, acc[q],
                 out_row + static_cast<std::size_t>(ox + q) * static_cast<std::size_t>(channels) +
                     static_cast<std::size_t>(k) * packed_block_channels);
        }
      }
    }
  }
};

}  // namespace detail

// The vector path for arch A: bit-identical to scalar::depthwise_conv2d. int16, depth
// multipliers other than 1 and filters of more than 64 taps run the scalar reference.
template <class A = default_arch, class T, class Policy, class Bias>
void depthwise_conv2d(const depthwise_conv2d_params<T, Policy, Bias>& p, const T* input, const std::int8_t* filter,
                      const Bias* bias, T* output) noexcept {
  if constexpr (std::is_same<T, std::int8_t>::value) {
#if QKERN_DEPTHWISE_VNNI
    if constexpr (std::is_base_of<xsimd::avx512bw, A>::value) {
      if (p.depth_multiplier == 1 && detail::dw_vnni_applies(p)) {
        detail::depthwise_vnni<A, Policy, depthwise_conv2d_params<T, Policy, Bias>> kernel(p, input, filter, bias,
                                                                                           output);
        if (kernel.run()) return;
      }
    }
#endif
    if (p.depth_multiplier == 1 && p.filter_shape[1] * p.filter_shape[2] <= detail::depthwise_max_taps) {
      detail::depthwise_int8<A, Policy>(p, input, filter, bias, output).run();
      return;
    }
  }
  scalar::depthwise_conv2d(p, input, filter, bias, output);
}

}  // namespace simd
#endif  // QKERN_SIMD

// --- the public eval ------------------------------------------------------------------------

// output (p.output_shape) = activation(depthwise_conv2d(input, filter) + bias); bias may be nullptr.
// Runs the SIMD path when qkern is built with it (the scalar reference in constant
// expressions); both give the same bits.
template <class T, class Policy, class Bias>
constexpr void depthwise_conv2d(const depthwise_conv2d_params<T, Policy, Bias>& p, const T* input,
                                const std::int8_t* filter, const Bias* bias, T* output) noexcept {
#if QKERN_SIMD
  if (!simd::in_constant_evaluation()) {
    simd::depthwise_conv2d(p, input, filter, bias, output);
    return;
  }
#endif
  scalar::depthwise_conv2d(p, input, filter, bias, output);
}

}  // namespace qkern
