// fully_connected: int8 and int16x8, per-tensor or per-channel weights, any batch, optional bias.
//
// Layouts: weights [units, depth] (one row per output channel), bias [units]. The input is
// read as [rows, depth] whatever its rank (rows = element count / depth), and the output is
// [rows, units] (or, with keep_num_dims, the input's shape with its last extent replaced by
// units). Each output element is
//   acc = Σ_d (x[row, d] + input_offset) · w[unit, d]
//   out = clamp(Policy::multiply(acc + bias[unit], m) + output_offset)
// with m the per-tensor multiplier, or m[unit] when the weights have one scale per unit.
//
// Multipliers, as TFLite derives them: per-channel (more than one filter scale) like conv,
// double(s_in) · double(s_w[unit]) / double(s_out), written into caller storage; per-tensor
// (one scale) from the float32 product, double(float32(s_in · s_w)) / double(s_out), kept in
// the params (no storage needed: pass {}).
//
//   auto p = qkern::prepare_fully_connected<std::int8_t>(in_q, in_shape, filter_q, filter_shape, bias, out_q);
//   if (p) qkern::fully_connected(*p, input, weights, bias, output);   // output: p->output_shape
//   // per-channel: qkern::quantized_multiplier m[units]; prepare_fully_connected<...>(..., options, m);
//
// int8 runs a SIMD path when qkern is built with it (the GEMM of gemm_simd.hpp with one tap),
// bit-identical to scalar::fully_connected. The 5-argument eval packs 16 to 64 units at a time
// on the stack (with AVX-512 VNNI and at most 16 rows it takes row-wise dot products instead,
// with no packing); packing once is faster when the weights are reused:
//   std::vector<unsigned char> storage(p->packed_weights_size);   // 8-byte aligned (64 is best)
//   auto packed = qkern::pack_fully_connected_weights(*p, weights, bias, storage.data(), storage.size());
//   if (packed) qkern::fully_connected(*p, *packed, input, output);   // the bias is packed in
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
#include "qkern/kernels/conv/multipliers.hpp"
#include "qkern/kernels/conv/packed_weights.hpp"

#if QKERN_SIMD
#include "qkern/kernels/conv/gemm_simd.hpp"
#endif

namespace qkern {

struct fully_connected_options {
  fused_activation activation = fused_activation::none;
  bool keep_num_dims = false;  // output keeps the input's leading extents instead of [rows, units]
};

template <class T, class Policy = double_rounding, class Bias = default_bias_t<T>>
struct fully_connected_params {
  static_assert(detail::is_int8_or_int16<T>, "fully_connected activations are int8 or int16 (int16x8)");
  static_assert(detail::is_supported_bias<T, Bias>, "the bias is int32 (int8), or int32 or int64 (int16)");
  using element_type = T;
  using policy = Policy;
  using bias_type = Bias;
  using accumulator_type = accumulator_t<T, Bias>;
  using multiplier_type = typename Policy::multiplier_type;

  std::int32_t rows = 0;   // input element count / depth
  std::int32_t depth = 0;  // input values per row (weights' dimension 1)
  std::int32_t units = 0;  // output values per row (weights' dimension 0)
  shape output_shape{};
  std::int32_t input_offset = 0;   // -zero point of the input
  std::int32_t output_offset = 0;  // +zero point of the output
  bool is_per_channel = false;
  multiplier_type output_multiplier{};                  // per-tensor (is_per_channel false)
  const multiplier_type* per_channel_multipliers = nullptr;  // units entries in caller storage (true)
  std::int32_t output_activation_min = 0;
  std::int32_t output_activation_max = 0;
  std::size_t packed_weights_size = 0;  // bytes pack_fully_connected_weights writes (int8; 0 for int16)

  constexpr const multiplier_type& multiplier(std::int32_t unit) const noexcept {
    return is_per_channel ? per_channel_multipliers[unit] : output_multiplier;
  }
};

// T is std::int8_t or std::int16_t; Bias as for conv2d (it picks the accumulator). `bias` is
// the constant bias eval will be given (units values, or nullptr). Fails for invalid scales or
// zero points (int16: 0; weights: 0), weights that are not rank 2, an input whose element count
// is not a positive multiple of depth (or, with keep_num_dims, whose last extent is not depth),
// too little multiplier storage (per-channel only) and an accumulator that could overflow.
template <class T, class Policy = double_rounding, class Bias = default_bias_t<T>>
constexpr result<fully_connected_params<T, Policy, Bias>> prepare_fully_connected(
    const quantization_params& input, const shape& input_shape, const per_channel_quantization& filter,
    const shape& filter_shape, const detail::non_deduced_t<Bias>* bias, const quantization_params& output,
    const fully_connected_options& options = {},
    multiplier_storage<typename Policy::multiplier_type> multipliers = {}) noexcept {
  QKERN_TRY((detail::validate_activations<T>(input, output)));
  QKERN_TRY(validate_shape(input_shape, "input"));
  QKERN_TRY(detail::require_rank(filter_shape, 2, "filter"));
  if (filter_shape[0] <= 0 || filter_shape[1] <= 0) {
    return status(status_code::invalid_shape, "weights must be [units, depth] with positive extents", "filter",
                  filter_shape[0] <= 0 ? filter_shape[0] : filter_shape[1]);
  }
  fully_connected_params<T, Policy, Bias> p;
  p.units = filter_shape[0];
  p.depth = filter_shape[1];
  const std::int64_t input_count = input_shape.element_count();
  if (input_shape.rank == 0 || input_count == 0 || input_count % p.depth != 0) {
    return status(status_code::invalid_shape, "element count must be a positive multiple of the weights' depth",
                  "input", input_count);
  }
  p.rows = static_cast<std::int32_t>(input_count / p.depth);  // <= 2^31 / depth
  if (options.keep_num_dims) {
    if (input_shape[input_shape.rank - 1] != p.depth) {
      return status(status_code::invalid_shape, "with keep_num_dims the last extent must equal the weights' depth",
                    "input", input_shape[input_shape.rank - 1]);
    }
    p.output_shape = input_shape;
    p.output_shape[input_shape.rank - 1] = p.units;
  } else {
    p.output_shape.rank = 2;
    p.output_shape[0] = p.rows;
    p.output_shape[1] = p.units;
  }
  QKERN_TRY(validate_shape(p.output_shape, "output"));
  QKERN_TRY(detail::validate_weights(filter, p.units, 0));
  p.input_offset = -input.zero_point;
  p.output_offset = output.zero_point;

  const auto range = make_activation_range<T>(options.activation, output);
  if (!range.ok()) return range.error();
  p.output_activation_min = range->min;
  p.output_activation_max = range->max;

  QKERN_TRY((detail::check_accumulator_bound<accumulator_t<T, Bias>>(
      p.depth, detail::max_abs_offset_value<T>(input.zero_point), detail::max_abs_weight,
      detail::max_abs_bias(bias, p.units))));

  p.is_per_channel = filter.count > 1;
  if (p.is_per_channel) {
    QKERN_TRY(derive_per_channel_multipliers<Policy>(input.scale, filter, output.scale, p.units, multipliers));
    p.per_channel_multipliers = multipliers.data;
  } else {
    const auto m = derive_float_product_multiplier<Policy>(input.scale, filter.scales[0], output.scale);
    if (!m.ok()) return m.error().about("filter");
    p.output_multiplier = *m;
  }
  if constexpr (std::is_same<T, std::int8_t>::value) {
    p.packed_weights_size = detail::packed_geometry(1, p.units, 1, p.depth).size;
  }
  return p;
}

namespace detail {

template <class Policy, class Bias>
gemm_rows fully_connected_rows(const fully_connected_params<std::int8_t, Policy, Bias>& p,
                               const std::int8_t* input) noexcept {
  gemm_rows r;
  r.input = input;
  r.rows = p.rows;
  r.direct = true;
  r.row_stride = static_cast<std::size_t>(p.depth);
  r.input_end = input + static_cast<std::size_t>(p.rows) * r.row_stride;
  r.segment = p.depth;
  return r;
}

template <class Policy, class Bias>
block_source<Policy> fully_connected_block_source(const fully_connected_params<std::int8_t, Policy, Bias>& p,
                                                  const std::int8_t* weights, const Bias* bias) noexcept {
  block_source<Policy> s;
  s.weights = weights;
  s.row_stride = static_cast<std::size_t>(p.depth);
  s.bias = bias;
  s.per_tensor = !p.is_per_channel;
  s.multipliers = p.is_per_channel ? p.per_channel_multipliers : &p.output_multiplier;
  s.input_offset = p.input_offset;
  s.output_offset = p.output_offset;
  return s;
}

template <class Policy, class Bias>
struct fully_connected_requantize {
  const fully_connected_params<std::int8_t, Policy, Bias>& p;
  std::int8_t operator()(std::int32_t acc, std::int32_t unit) const noexcept {
    return requantize_accumulator<std::int8_t, Policy>(acc, p.multiplier(unit), p.output_offset,
                                                       p.output_activation_min, p.output_activation_max);
  }
};

}  // namespace detail

// Packs int8 weights [units, depth] and bias (units values or nullptr) into caller storage of
// at least p.packed_weights_size bytes, 8-byte aligned, for fully_connected(p, packed, ...).
template <class Policy, class Bias>
result<packed_weights> pack_fully_connected_weights(const fully_connected_params<std::int8_t, Policy, Bias>& p,
                                                    const std::int8_t* weights, const Bias* bias, void* storage,
                                                    std::size_t capacity) noexcept {
  packed_weights w = detail::packed_geometry(1, p.units, 1, p.depth);
  QKERN_TRY(detail::require_packed_storage(storage, capacity, w.size));
  if (reinterpret_cast<std::uintptr_t>(storage) % detail::packed_storage_alignment != 0) {
    return status(status_code::invalid_argument, "packed weight storage must be 8-byte aligned", "packed");
  }
  if (weights == nullptr) return status(status_code::invalid_argument, "weights are null", "filter");
  auto* bytes = static_cast<unsigned char*>(storage);
  const auto source = detail::fully_connected_block_source(p, weights, bias);
  for (std::int32_t blk = 0; blk < w.blocks_per_group; ++blk) {
    detail::pack_block<Policy>(w, source, blk * packed_block_channels, bytes + static_cast<std::size_t>(blk) * w.block_bytes);
  }
  detail::pack_zero_row(w, -p.input_offset, bytes + w.zero_row_offset);
  w.data = bytes;
  return w;
}

// --- the scalar reference ---------------------------------------------------------------------

namespace scalar {

template <class T, class Policy, class Bias>
constexpr void fully_connected(const fully_connected_params<T, Policy, Bias>& p, const T* input,
                               const std::int8_t* weights, const Bias* bias, T* output) noexcept {
  using accumulator = accumulator_t<T, Bias>;
  for (std::int32_t row = 0; row < p.rows; ++row) {
    const T* x = input + static_cast<std::size_t>(row) * static_cast<std::size_t>(p.depth);
    for (std::int32_t unit = 0; unit < p.units; ++unit) {
      const std::int8_t* w = weights + static_cast<std::size_t>(unit) * static_cast<std::size_t>(p.depth);
      accumulator acc = 0;
      for (std::int32_t d = 0; d < p.depth; ++d) acc += (x[d] + p.input_offset) * w[d];
      if (bias != nullptr) acc += bias[unit];
      output[static_cast<std::size_t>(row) * static_cast<std::size_t>(p.units) + static_cast<std::size_t>(unit)] =
          detail::requantize_accumulator<T, Policy>(acc, p.multiplier(unit), p.output_offset,
                                                    p.output_activation_min, p.output_activation_max);
    }
  }
}

// The packed form evaluated element by element (the packed path without SIMD).
template <class Policy, class Bias>
void fully_connected(const fully_connected_params<std::int8_t, Policy, Bias>& p, const packed_weights& packed,
                     const std::int8_t* input, std::int8_t* output) noexcept {
  detail::packed_gemm_scalar(packed, detail::fully_connected_rows(p, input),
                             {output, static_cast<std::size_t>(p.units)},
                             detail::fully_connected_requantize<Policy, Bias>{p});
}

}  // namespace scalar

// --- the SIMD path ---------------------------------------------------------------------------

#if QKERN_SIMD
namespace simd {

// The vector path for arch A: bit-identical to scalar::fully_connected. int16 runs the scalar
// reference; int8 takes row-wise dot products (AVX-512 VNNI, at most 16 rows) or packs 16 to 64
// units at a time on the stack (the scalar reference when 16 units' weights exceed the 32 KiB
// workspace, i.e. depth above about 1900).
template <class A = default_arch, class T, class Policy, class Bias>
void fully_connected(const fully_connected_params<T, Policy, Bias>& p, const T* input, const std::int8_t* weights,
                     const Bias* bias, T* output) noexcept {
  if constexpr (std::is_same<T, std::int8_t>::value) {
    const packed_weights geometry = ::qkern::detail::packed_geometry(1, p.units, 1, p.depth);
    const auto source = ::qkern::detail::fully_connected_block_source(p, weights, bias);
    const bool done = detail::unpacked_gemm<A, Policy>(
        geometry, [&](std::int32_t) { return source; }, -p.input_offset,
        ::qkern::detail::fully_connected_rows(p, input), {output, static_cast<std::size_t>(p.units)},
        p.output_offset, p.output_activation_min, p.output_activation_max,
        ::qkern::detail::fully_connected_requantize<Policy, Bias>{p});
    if (done) return;
  }
  scalar::fully_connected(p, input, weights, bias, output);
}

// The packed form (pack_fully_connected_weights with the same params) on arch A.
template <class A = default_arch, class Policy, class Bias>
void fully_connected(const fully_connected_params<std::int8_t, Policy, Bias>& p, const packed_weights& packed,
                     const std::int8_t* input, std::int8_t* output) noexcept {
  detail::packed_gemm<A>(packed, ::qkern::detail::fully_connected_rows(p, input),
                         {output, static_cast<std::size_t>(p.units)}, p.output_offset, p.output_activation_min,
                         p.output_activation_max, ::qkern::detail::fully_connected_requantize<Policy, Bias>{p});
}

}  // namespace simd
#endif  // QKERN_SIMD

// --- the public eval ------------------------------------------------------------------------

// output (p.output_shape) = activation(input · weightsᵀ + bias); bias may be nullptr.
// Runs the SIMD path when qkern is built with it (the scalar reference in constant
// expressions); both give the same bits.
template <class T, class Policy, class Bias>
constexpr void fully_connected(const fully_connected_params<T, Policy, Bias>& p, const T* input,
                               const std::int8_t* weights, const Bias* bias, T* output) noexcept {
#if QKERN_SIMD
  if (!simd::in_constant_evaluation()) {
    simd::fully_connected(p, input, weights, bias, output);
    return;
  }
#endif
  scalar::fully_connected(p, input, weights, bias, output);
}

// The same with weights packed by pack_fully_connected_weights(p, ...) (int8).
template <class Policy, class Bias>
void fully_connected(const fully_connected_params<std::int8_t, Policy, Bias>& p, const packed_weights& packed,
                     const std::int8_t* input, std::int8_t* output) noexcept {
#if QKERN_SIMD
  simd::fully_connected(p, packed, input, output);
#else
  scalar::fully_connected(p, packed, input, output);
#endif
}

}  // namespace qkern
