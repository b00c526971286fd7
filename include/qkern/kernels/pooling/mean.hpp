// mean (int8, int16) over any set of axes, with keep_dims; the usual case is a global average
// pool over H and W of an NHWC tensor. Follows TFLM: prepare derives s_in / s_out as a
// quantized multiplier, and the division by the number of reduced elements is folded into it.
//
//   const std::int32_t axes[2] = {1, 2};
//   auto p = qkern::prepare_mean<std::int8_t, qkern::double_rounding>(q_in, input_shape, axes, 2, q_out, true);
//   if (p) qkern::mean(*p, in, out);                     // out has p->output's shape
#pragma once

#include <cstdint>
#include <limits>

#include "qkern/core/fixed_point.hpp"
#include "qkern/core/quantization.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/elementwise/common.hpp"
#include "qkern/kernels/layout/common.hpp"
#include "qkern/kernels/layout/strided_view.hpp"

#if QKERN_SIMD
#include <algorithm>
#include <array>
#include <cstddef>
#include <type_traits>

#include "qkern/core/fused_requantization.hpp"
#include "qkern/simd/arch.hpp"
#include "qkern/simd/constant_evaluation.hpp"
#include "qkern/simd/convert.hpp"
#include "qkern/simd/fused_requantization.hpp"
#include "qkern/simd/int8_lane_sums.hpp"
#include "qkern/simd/partial_lanes.hpp"
#include "qkern/simd/rotate_lanes.hpp"
#include "qkern/simd/strided_copy.hpp"
#endif

namespace qkern {

template <class T, class Policy = double_rounding>
struct mean_params {
  static_assert(detail::is_int8_or_int16<T>, "mean is defined for int8 and int16");
  using element_type = T;
  using policy = Policy;
  using multiplier_type = typename Policy::multiplier_type;

  multiplier_type multiplier{};       // s_in / s_out, as TFLM's Prepare derives it
  multiplier_type mean_multiplier{};  // multiplier / reduced_count, as TFLM's Eval folds it
  std::int32_t input_zero_point = 0;
  std::int32_t output_zero_point = 0;
  std::int64_t reduced_count = 0;  // input elements averaged into each output element
  std::int64_t output_count = 0;
  shape output;
  strided_view outer;    // the kept axes in output order: the first input element of each output
  strided_view reduced;  // the reduced axes, relative to that element
};

namespace detail {

constexpr int floor_log2(std::int64_t n) noexcept {
  int log = 0;
  while (n > 1) {
    n >>= 1;
    ++log;
  }
  return log;
}

// TFLM's folding of 1/count into (m, shift): k = min(floor(log2(count)), 32, 31 + shift) extra
// bits of precision, m' = (m << k) / count (truncating), shift' = shift - k. With 2^k <= count
// the new multiplier stays below 2^31, and shift' >= -31.
constexpr quantized_multiplier fold_count_into_multiplier(quantized_multiplier m, std::int64_t count) noexcept {
  int k = floor_log2(count);
  if (k > 32) k = 32;
  if (k > 31 + m.shift) k = 31 + m.shift;
  if (k < 0) k = 0;
  const std::int64_t folded = (static_cast<std::int64_t>(m.multiplier) << k) / count;
  return {static_cast<std::int32_t>(folded), m.shift - k};
}

}  // namespace detail

// axes holds axis_count entries in [-rank, rank), in any order; repeats count once. With
// keep_dims the reduced axes stay with extent 1, otherwise they are removed.
template <class T, class Policy = double_rounding>
constexpr result<mean_params<T, Policy>> prepare_mean(const quantization_params& input, const shape& input_shape,
                                                      const std::int32_t* axes, int axis_count,
                                                      const quantization_params& output, bool keep_dims) noexcept {
  QKERN_TRY(validate_quantization<T>(input, "input"));
  QKERN_TRY(validate_quantization<T>(output, "output"));
  QKERN_TRY(validate_shape(input_shape, "input"));
  if (axis_count < 0) return status(status_code::invalid_argument, "count is negative", "axis", axis_count);
  if (axes == nullptr && axis_count > 0) return status(status_code::invalid_argument, "is null", "axis");
  bool reduce[max_rank] = {};
  for (int i = 0; i < axis_count; ++i) {
    const auto a = detail::normalize_axis(axes[i], input_shape.rank, "axis");
    if (!a.ok()) return a.error();
    reduce[*a] = true;
  }

  mean_params<T, Policy> p;
  std::int64_t strides[max_rank] = {};
  detail::row_major_strides(input_shape, strides);
  p.reduced_count = 1;
  for (int d = 0; d < input_shape.rank; ++d) {
    if (reduce[d]) {
      p.reduced_count *= input_shape.dims[d];
      p.reduced.extent[p.reduced.rank] = input_shape.dims[d];
      p.reduced.stride[p.reduced.rank++] = strides[d];
      if (keep_dims) p.output.dims[p.output.rank++] = 1;
    } else {
      p.outer.extent[p.outer.rank] = input_shape.dims[d];
      p.outer.stride[p.outer.rank++] = strides[d];
      p.output.dims[p.output.rank++] = input_shape.dims[d];
    }
  }
  if (p.reduced_count == 0) return status(status_code::invalid_shape, "a reduced axis has extent 0", "input");
  p.output_count = p.output.element_count();

  const auto m = Policy::quantize(static_cast<double>(input.scale) / static_cast<double>(output.scale));
  if (!m.ok()) return m.error().about("output");
  p.multiplier = *m;
  p.mean_multiplier = detail::fold_count_into_multiplier(*m, p.reduced_count);
  p.input_zero_point = input.zero_point;
  p.output_zero_point = output.zero_point;
  return p;
}

// One output element from the sum of its reduced inputs: clamp(MBQM(sum - zp_in*count, m', shift')
// + zp_out). TFLM's sum is an int32; here it is exact in int64 and saturated to int32, which
// agrees wherever TFLM's does not overflow.
template <class T, class Policy>
constexpr T mean_element(const mean_params<T, Policy>& p, std::int64_t sum) noexcept {
  const std::int32_t centered = saturating_cast<std::int32_t>(sum - p.input_zero_point * p.reduced_count);
  return detail::saturate_narrow<T>(std::int64_t{Policy::multiply(centered, p.mean_multiplier)} + p.output_zero_point);
}

namespace scalar {

template <class T, class Policy>
constexpr void mean(const mean_params<T, Policy>& p, const T* input, T* output) noexcept {
  detail::for_each_offset(p.outer, [&](std::int64_t first) {
    strided_view window = p.reduced;
    window.offset = first;
    std::int64_t sum = 0;
    detail::for_each_offset(window, [&](std::int64_t offset) { sum += input[offset]; });
    *output++ = mean_element(p, sum);
  });
}

}  // namespace scalar

// --- the SIMD path ---------------------------------------------------------------------------

#if QKERN_SIMD
namespace simd {
namespace detail {

// The mean when the kept axes end with a contiguous one (the channels of a global average
// pool): every output channel block is a lane-wise sum over the reduced offsets, vectorised
// across channels. int8 batches go through int8_lane_sums (simd/int8_lane_sums.hpp: int32 sums
// built from int16 partial sums of at most 256 taps, or with AVX-512 VNNI directly, in the
// backend's lane layout); int16 batches widen to int32 at once. The sums are exact, as the
// scalar's are, because eval sends here only counts with |sum - zp · count| < 2^31. Then, per
// lane, either the fused requantization (exactly Policy::multiply + zero point for the bounded
// centred sums: core/fused_requantization.hpp, and tests/pooling_simd sweeps every centred sum
// of sampled mean parameters) and a saturating narrow, or, where the fused form does not apply,
// the scalar mean_element. int8 rows of exactly one batch at a misaligned address take the
// aligned-loads route of misaligned_rows.
template <class A, class T, class Policy>
struct mean_over_channels {
  using lanes_type = xsimd::batch<T, A>;
  using dwords = xsimd::batch<std::int32_t, A>;
  static constexpr std::size_t lanes = lanes_type::size;
  static constexpr std::size_t parts = sizeof(std::int32_t) / sizeof(T);  // int32 batches per batch of T

  const mean_params<T, Policy>& p;
  strided_view taps;       // the reduced offsets, simplified; the innermost run is walked directly
  std::int64_t channels;   // extent of the contiguous kept axis
  fused_requantization fused{};
  bool has_fused = false;
  bool rows_fill_batches = false;  // int8, channels == lanes, the taps one run of whole rows

  // Calls visit(tap, run, step) for every innermost run of the reduced offsets from base.
  template <class Visit>
  void for_each_run(const T* base, Visit&& visit) const noexcept {
    strided_view rows = taps;  // every dimension but the innermost
    const std::int64_t run = taps.rank > 0 ? taps.extent[taps.rank - 1] : 1;
    const std::int64_t step = taps.rank > 0 ? taps.stride[taps.rank - 1] : 0;
    rows.rank = taps.rank > 0 ? taps.rank - 1 : 0;
    rows.offset = 0;
    ::qkern::detail::for_each_offset(rows, [&](std::int64_t offset) { visit(base + offset, run, step); });
  }

  // int8: the totals in int8_lane_sums' layout; int16: in lane order.
  template <class Load>
  std::array<dwords, parts> sum(const T* base, Load load) const noexcept {
    if constexpr (std::is_same<T, std::int8_t>::value) {
      int8_lane_sums<A> sums;
      for_each_run(base, [&](const T* tap, std::int64_t run, std::int64_t step) {
        for (std::int64_t done = 0; done < run;) {
          const std::int64_t chunk = std::min<std::int64_t>(int8_lane_sums<A>::flush_every, run - done);
          sums.add_run(tap, chunk, step, load);
          tap += chunk * step;
          done += chunk;
        }
      });
      return sums.total;
    } else {
      std::array<dwords, parts> total{dwords(0), dwords(0)};
      for_each_run(base, [&](const T* tap, std::int64_t run, std::int64_t step) {
        for (std::int64_t j = 0; j < run; ++j, tap += step) {
          const lanes_type v = load(tap);
          total[0] += simd::widen_low(v);
          total[1] += simd::widen_high(v);
        }
      });
      return total;
    }
  }

  lanes_type requantize(const std::array<dwords, parts>& total) const noexcept {
    const dwords offset(static_cast<std::int32_t>(p.input_zero_point * p.reduced_count));
    std::array<dwords, parts> r;
    for (std::size_t k = 0; k < parts; ++k) r[k] = simd::apply_fused_requantization(total[k] - offset, fused);
    if constexpr (std::is_same<T, std::int8_t>::value) {
      return int8_lane_sums<A>::narrow(r);
    } else {
      return simd::saturating_narrow<T>(r[0], r[1]);
    }
  }

  // The scalar spec on the sums of the first n lanes.
  void requantize_scalar(const std::array<dwords, parts>& total, T* out, std::size_t n) const noexcept {
    alignas(64) std::int32_t sums[parts * dwords::size];
    if constexpr (std::is_same<T, std::int8_t>::value) {
      int8_lane_sums<A>::store_lane_order(total, sums);
    } else {
      for (std::size_t k = 0; k < parts; ++k) total[k].store_aligned(sums + k * dwords::size);
    }
    for (std::size_t i = 0; i < n; ++i) out[i] = mean_element(p, sums[i]);
  }

  // The rows of one batch each, contiguous (NHWC with channels == lanes: the 1x56x56x64 global
  // average pool on AVX-512), starting `a` bytes past an alignment boundary (a > 0). Unaligned
  // loads would each straddle two cache lines, which costs a quarter of the throughput; instead
  // the sum runs over the aligned batches, whose lane j holds channel (j - a) mod lanes of one
  // row or the next. Batches 1 .. rows - 1 (the k-th at base - a + k · lanes) hold every element
  // but row 0's channels [0, lanes - a) and the last row's [lanes - a, lanes); those two pieces
  // make one more batch, `edge`, rotated into the same lane order. Every input element is added
  // exactly once (int8_lane_sums' exact sums), then the requantized bytes are rotated back.
  void misaligned_rows(const T* base, std::size_t a, T* out) const noexcept {
    const std::int64_t rows = taps.rank == 0 ? 1 : taps.extent[0];
    const auto row = static_cast<std::int64_t>(lanes);
    const auto aligned_load = [](const T* q) { return lanes_type::load_aligned(q); };
    int8_lane_sums<A> sums;
    for (std::int64_t done = 0; done < rows - 1;) {
      const std::int64_t chunk = std::min<std::int64_t>(int8_lane_sums<A>::flush_every, rows - 1 - done);
      sums.add_run(base + (lanes - a) + done * row, chunk, row, aligned_load);
      done += chunk;
    }
    alignas(64) static constexpr std::int8_t iota[64] = {
        0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
        22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43,
        44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63};
    static_assert(lanes <= 64, "one int8 batch is at most 64 lanes");
    const auto from_row0 = lanes_type::load_aligned(iota) < lanes_type(static_cast<T>(lanes - a));
    const lanes_type edge = xsimd::select(from_row0, lanes_type::load_unaligned(base),
                                          lanes_type::load_unaligned(base + (rows - 1) * row));
    const lanes_type rotated_edge = simd::rotate_lanes(edge, lanes - a);  // lane j: channel (j - a) mod lanes
    sums.add_run(base, 1, 0, [&rotated_edge](const T*) { return rotated_edge; });  // one tap: the edge
    if (has_fused) {
      simd::rotate_lanes(requantize(sums.total), a).store_unaligned(out);
    } else {
      alignas(64) T by_lane[lanes];
      requantize_scalar(sums.total, by_lane, lanes);
      for (std::size_t c = 0; c < lanes; ++c) out[c] = by_lane[(c + a) % lanes];
    }
  }

  void operator()(const T* base, T* out) const noexcept {
    if constexpr (std::is_same<T, std::int8_t>::value) {
      const auto a = static_cast<std::size_t>(reinterpret_cast<std::uintptr_t>(base) % lanes);
      if (rows_fill_batches && a != 0) {
        misaligned_rows(base, a, out);
        return;
      }
    }
    std::int64_t c = 0;
    for (; c + static_cast<std::int64_t>(lanes) <= channels; c += lanes) {
      const auto total = sum(base + c, [](const T* q) { return lanes_type::load_unaligned(q); });
      if (has_fused) {
        requantize(total).store_unaligned(out + c);
      } else {
        requantize_scalar(total, out + c, lanes);
      }
    }
    if (c < channels) {
      const auto rest = static_cast<std::size_t>(channels - c);
      const auto total = sum(base + c, [rest](const T* q) { return simd::load_partial<A>(q, rest); });
      if (has_fused) {
        simd::store_partial<A>(out + c, requantize(total), rest);
      } else {
        requantize_scalar(total, out + c, rest);
      }
    }
  }
};

}  // namespace detail

// The vector path for arch A: bit-identical to scalar::mean. It serves the means whose kept axes
// end with a contiguous one (NHWC over H, W: a global average pool) and whose reduced count keeps
// the centred sums inside int32 (int8: below 2^23 elements, int16: up to 32768); the others run
// the scalar reference.
template <class A = default_arch, class T, class Policy>
void mean(const mean_params<T, Policy>& p, const T* input, T* output) noexcept {
  const int last = p.outer.rank - 1;
  const std::int64_t limit = std::is_same<T, std::int8_t>::value ? (std::int64_t{1} << 23) : 32769;
  if (last < 0 || p.outer.stride[last] != 1 || p.outer.extent[last] < 1 || p.reduced_count >= limit) {
    scalar::mean(p, input, output);
    return;
  }
  detail::mean_over_channels<A, T, Policy> k{p, detail::simplify_view<A>(p.reduced), p.outer.extent[last]};
  k.rows_fill_batches = std::is_same<T, std::int8_t>::value && k.channels == static_cast<std::int64_t>(k.lanes) &&
                        (k.taps.rank == 0 || (k.taps.rank == 1 && k.taps.stride[0] == k.channels));
  if constexpr (std::is_same<Policy, double_rounding>::value || std::is_same<Policy, single_rounding>::value) {
    const std::int64_t zp = p.input_zero_point;
    const std::int64_t widest = std::max<std::int64_t>(std::numeric_limits<T>::max() - zp, zp - std::numeric_limits<T>::min());
    const auto fused = make_fused_requantization<Policy>(p.mean_multiplier, p.output_zero_point,
                                                         static_cast<std::int32_t>(widest * p.reduced_count));
    k.has_fused = fused.ok();
    if (fused.ok()) k.fused = *fused;
  }
  strided_view prefix = p.outer;  // the kept axes before the channels
  prefix.rank = last;
  prefix.offset = 0;
  std::int64_t index = 0;
  ::qkern::detail::for_each_offset(prefix, [&](std::int64_t offset) {
    k(input + offset, output + index * k.channels);
    ++index;
  });
}

}  // namespace simd
#endif  // QKERN_SIMD

// --- the public eval -------------------------------------------------------------------------

// output (p.output_count elements, shape p.output) = the requantized mean over the axes. The SIMD
// path when qkern is built with it (the scalar reference in constant expressions); both give
// the same bits.
template <class T, class Policy>
constexpr void mean(const mean_params<T, Policy>& p, const T* input, T* output) noexcept {
#if QKERN_SIMD
  if (!simd::in_constant_evaluation()) {
    simd::mean(p, input, output);
    return;
  }
#endif
  scalar::mean(p, input, output);
}

}  // namespace qkern
