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
//
// int8 runs a SIMD path when qkern is built with it (gemm_simd.hpp: the conv as a GEMM over
// taps, int8 dot products per arch), bit-identical to scalar::conv2d. The 5-argument eval
// packs the weights of 16 to 64 output channels at a time on the stack (32 KiB; the scalar
// reference when 16 channels' weights do not fit, i.e. KH·KW·C_in/groups above about 1900);
// to pack once, ask prepare's packed_weights_size, pack, and evaluate the packed form:
//
//   std::vector<unsigned char> storage(p->packed_weights_size);   // 8-byte aligned (64 is best)
//   auto packed = qkern::pack_conv2d_weights(*p, filter, bias, storage.data(), storage.size());
//   if (packed) qkern::conv2d(*p, *packed, input, output);      // the bias is packed in
// In AVX-512 builds packing also proves, per channel, a float form of the output step that the
// packed eval's tiles use (docs/arithmetic.md §10; a few microseconds per channel).
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
#include "qkern/kernels/conv/gemm.hpp"
#include "qkern/kernels/conv/layout.hpp"
#include "qkern/kernels/conv/multipliers.hpp"
#include "qkern/kernels/conv/packed_weights.hpp"
#include "qkern/kernels/conv/padding.hpp"

#if QKERN_SIMD
#include "qkern/kernels/conv/gemm_simd.hpp"
#endif

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
  std::size_t packed_weights_size = 0;  // bytes pack_conv2d_weights writes (int8; 0 for int16)
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
  if constexpr (std::is_same<T, std::int8_t>::value) {
    p.packed_weights_size =
        detail::packed_geometry(p.groups, output_depth / p.groups, filter_shape[1] * filter_shape[2], filter_depth).size;
  }
  return p;
}

namespace detail {

// conv2d as a GEMM: one row per output pixel, one tap per filter position, a segment of C_in /
// groups input channels.
template <class T, class Policy, class Bias>
constexpr packed_weights conv2d_geometry(const conv2d_params<T, Policy, Bias>& p) noexcept {
  return packed_geometry(p.groups, p.output_shape[3] / p.groups, p.filter_shape[1] * p.filter_shape[2],
                         p.filter_shape[3]);
}

template <class Policy, class Bias>
gemm_rows conv2d_rows(const conv2d_params<std::int8_t, Policy, Bias>& p, const std::int8_t* input) noexcept {
  const shape& in = p.input_shape;
  const shape& f = p.filter_shape;
  const shape& out = p.output_shape;
  gemm_rows r;
  r.input = input;
  r.input_end = input + in.element_count();
  r.rows = out[0] * out[1] * out[2];
  r.segment = f[3];
  r.direct = f[1] == 1 && f[2] == 1 && p.stride_height == 1 && p.stride_width == 1 && p.padding.height == 0 &&
             p.padding.width == 0 && out[1] == in[1] && out[2] == in[2];
  r.row_stride = static_cast<std::size_t>(in[3]);
  r.in_h = in[1];
  r.in_w = in[2];
  r.in_c = in[3];
  r.out_h = out[1];
  r.out_w = out[2];
  r.kernel_w = f[2];
  r.stride_h = p.stride_height;
  r.stride_w = p.stride_width;
  r.dilation_h = p.dilation_height;
  r.dilation_w = p.dilation_width;
  r.pad_h = p.padding.height;
  r.pad_w = p.padding.width;
  return r;
}

// The source of group g's blocks: its filters, bias and multipliers.
template <class Policy, class Bias>
block_source<Policy> conv2d_block_source(const conv2d_params<std::int8_t, Policy, Bias>& p, const std::int8_t* filter,
                                         const Bias* bias, std::int32_t group) noexcept {
  const std::int32_t per_group = p.output_shape[3] / p.groups;
  const std::size_t row = static_cast<std::size_t>(p.filter_shape[1]) * static_cast<std::size_t>(p.filter_shape[2]) *
                          static_cast<std::size_t>(p.filter_shape[3]);
  const std::size_t first = static_cast<std::size_t>(group) * static_cast<std::size_t>(per_group);
  block_source<Policy> s;
  s.weights = filter + first * row;
  s.row_stride = row;
  s.bias = bias != nullptr ? bias + first : nullptr;
  s.multipliers = p.output_multipliers + first;
  s.per_tensor = false;
  s.input_offset = p.input_offset;
  s.output_offset = p.output_offset;
  return s;
}

// The scalar output step of output channel oc, as the reference computes it.
template <class Policy, class Bias>
struct conv2d_requantize {
  const conv2d_params<std::int8_t, Policy, Bias>& p;
  std::int8_t operator()(std::int32_t acc, std::int32_t oc) const noexcept {
    return requantize_accumulator<std::int8_t, Policy>(acc, p.output_multipliers[oc], p.output_offset,
                                                       p.output_activation_min, p.output_activation_max);
  }
};

}  // namespace detail

// Packs the int8 filter (OHWI) and bias (C_out values or nullptr) of the params' conv into
// caller storage of at least p.packed_weights_size bytes, 8-byte aligned. The view it returns
// is what conv2d(p, packed, input, output) reads; it stays valid while the storage does.
template <class Policy, class Bias>
result<packed_weights> pack_conv2d_weights(const conv2d_params<std::int8_t, Policy, Bias>& p,
                                           const std::int8_t* filter, const Bias* bias, void* storage,
                                           std::size_t capacity) noexcept {
  packed_weights w = detail::conv2d_geometry(p);
  QKERN_TRY(detail::require_packed_storage(storage, capacity, w.size));
  if (reinterpret_cast<std::uintptr_t>(storage) % detail::packed_storage_alignment != 0) {
    return status(status_code::invalid_argument, "packed weight storage must be 8-byte aligned", "packed");
  }
  if (filter == nullptr) return status(status_code::invalid_argument, "filter is null", "filter");
  auto* bytes = static_cast<unsigned char*>(storage);
  for (std::int32_t group = 0; group < w.groups; ++group) {
    const auto source = detail::conv2d_block_source(p, filter, bias, group);
    for (std::int32_t blk = 0; blk < w.blocks_per_group; ++blk) {
      detail::pack_block<Policy>(w, source, blk * packed_block_channels,
                                 bytes + (static_cast<std::size_t>(group) * static_cast<std::size_t>(w.blocks_per_group) +
                                          static_cast<std::size_t>(blk)) *
                                             w.block_bytes);
    }
  }
  detail::pack_zero_row(w, -p.input_offset, bytes + w.zero_row_offset);
  w.data = bytes;
  return w;
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

// The packed form evaluated element by element (the packed path without SIMD).
template <class Policy, class Bias>
void conv2d(const conv2d_params<std::int8_t, Policy, Bias>& p, const packed_weights& packed,
            const std::int8_t* input, std::int8_t* output) noexcept {
  detail::packed_gemm_scalar(packed, detail::conv2d_rows(p, input),
                             {output, static_cast<std::size_t>(p.output_shape[3])},
                             detail::conv2d_requantize<Policy, Bias>{p});
}

}  // namespace scalar

// --- the SIMD path ---------------------------------------------------------------------------

#if QKERN_SIMD
namespace simd {

// The vector path for arch A: bit-identical to scalar::conv2d. int16 runs the scalar
// reference; int8 packs 16 to 64 output channels at a time on the stack (the scalar reference
// when 16 channels' weights exceed the 32 KiB workspace; with AVX-512 VNNI a 1x1, stride-1,
// ungrouped conv of at most 16 pixels takes row-wise dot products instead).
template <class A = default_arch, class T, class Policy, class Bias>
void conv2d(const conv2d_params<T, Policy, Bias>& p, const T* input, const std::int8_t* filter, const Bias* bias,
            T* output) noexcept {
  if constexpr (std::is_same<T, std::int8_t>::value) {
    const packed_weights geometry = ::qkern::detail::conv2d_geometry(p);
    const bool done = detail::unpacked_gemm<A, Policy>(
        geometry, [&](std::int32_t group) { return ::qkern::detail::conv2d_block_source(p, filter, bias, group); },
        -p.input_offset, ::qkern::detail::conv2d_rows(p, input),
        {output, static_cast<std::size_t>(p.output_shape[3])}, p.output_offset, p.output_activation_min,
        p.output_activation_max, ::qkern::detail::conv2d_requantize<Policy, Bias>{p});
    if (done) return;
  }
  scalar::conv2d(p, input, filter, bias, output);
}

// The packed form (pack_conv2d_weights with the same params) on arch A.
template <class A = default_arch, class Policy, class Bias>
void conv2d(const conv2d_params<std::int8_t, Policy, Bias>& p, const packed_weights& packed,
            const std::int8_t* input, std::int8_t* output) noexcept {
  detail::packed_gemm<A>(packed, ::qkern::detail::conv2d_rows(p, input),
                         {output, static_cast<std::size_t>(p.output_shape[3])}, p.output_offset,
                         p.output_activation_min, p.output_activation_max,
                         ::qkern::detail::conv2d_requantize<Policy, Bias>{p});
}

}  // namespace simd
#endif  // QKERN_SIMD

// --- the public eval ------------------------------------------------------------------------

// output (p.output_shape) = activation(conv2d(input, filter) + bias); bias may be nullptr.
// Runs the SIMD path when qkern is built with it (the scalar reference in constant
// expressions); both give the same bits.
template <class T, class Policy, class Bias>
constexpr void conv2d(const conv2d_params<T, Policy, Bias>& p, const T* input, const std::int8_t* filter,
                      const Bias* bias, T* output) noexcept {
#if QKERN_SIMD
  if (!simd::in_constant_evaluation()) {
    simd::conv2d(p, input, filter, bias, output);
    return;
  }
#endif
  scalar::conv2d(p, input, filter, bias, output);
}

// The same with weights packed by pack_conv2d_weights(p, ...) (int8).
template <class Policy, class Bias>
void conv2d(const conv2d_params<std::int8_t, Policy, Bias>& p, const packed_weights& packed, const std::int8_t* input,
            std::int8_t* output) noexcept {
#if QKERN_SIMD
  simd::conv2d(p, packed, input, output);
#else
  scalar::conv2d(p, packed, input, output);
#endif
}

}  // namespace qkern
