// batch_matmul (int8): a batch of matrix products with broadcast batch dimensions and optional
// transposition of either operand. No bias, no fused activation.
//
// Shapes: lhs [..., M, K] ([..., K, M] with adj_x), rhs [..., K, N] ([..., N, K] with adj_y),
// ranks 2..6, possibly different. The leading (batch) extents are right-aligned and broadcast
// (equal, or one of them 1); the output is [broadcast batch..., M, N]. Each output element is
//   acc = Σ_k (lhs[.., i, k] + lhs_offset) · (rhs[.., k, j] + rhs_offset)
//   out = clamp(Policy::multiply(acc, m) + output_offset)
// Both zero points may be non-zero. The multiplier is TFLite's: the product of the two input
// scales is rounded to float32 first, m = double(float32(s_lhs · s_rhs)) / double(s_out).
//
//   auto p = qkern::prepare_batch_matmul<std::int8_t>(lhs_q, lhs_shape, rhs_q, rhs_shape, out_q, {false, true});
//   if (p) qkern::batch_matmul(*p, lhs, rhs, output);   // output: p->output_shape
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "qkern/core/quantization.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/conv/accumulator.hpp"
#include "qkern/kernels/conv/layout.hpp"
#include "qkern/kernels/conv/multipliers.hpp"

namespace qkern {

struct batch_matmul_options {
  bool adj_x = false;  // lhs is stored [..., K, M]
  bool adj_y = false;  // rhs is stored [..., N, K]
};

// Batch dimensions beyond the two matrix dimensions: up to max_rank - 2.
inline constexpr int max_batch_rank = max_rank - 2;

template <class T = std::int8_t, class Policy = double_rounding>
struct batch_matmul_params {
  static_assert(std::is_same<T, std::int8_t>::value, "batch_matmul is defined for int8");
  using element_type = T;
  using policy = Policy;
  using accumulator_type = std::int32_t;
  using multiplier_type = typename Policy::multiplier_type;

  std::int32_t rows = 0;   // M
  std::int32_t depth = 0;  // K
  std::int32_t cols = 0;   // N
  bool adj_x = false;
  bool adj_y = false;
  // The output's batch extents, left-padded with 1 to max_batch_rank, and how far (in whole
  // matrices) each operand moves per step along them: 0 where it broadcasts.
  std::int32_t batch[max_batch_rank] = {};
  std::int64_t lhs_batch_stride[max_batch_rank] = {};
  std::int64_t rhs_batch_stride[max_batch_rank] = {};
  shape output_shape{};
  std::int32_t lhs_offset = 0;     // -zero point of lhs
  std::int32_t rhs_offset = 0;     // -zero point of rhs
  std::int32_t output_offset = 0;  // +zero point of the output
  multiplier_type output_multiplier{};
  std::int32_t output_activation_min = std::numeric_limits<T>::min();
  std::int32_t output_activation_max = std::numeric_limits<T>::max();
};

namespace detail {

// Extent of s's batch dimension d (counted among max_batch_rank right-aligned ones), 1 where s
// has none.
constexpr std::int32_t batch_extent(const shape& s, int d) noexcept {
  const int i = d - (max_batch_rank - (s.rank - 2));
  return i < 0 ? 1 : s[i];
}

// Strides (in matrices) of s along the padded batch dimensions, 0 where s broadcasts.
constexpr void batch_strides(const shape& s, std::int64_t (&strides)[max_batch_rank]) noexcept {
  std::int64_t stride = 1;
  for (int d = max_batch_rank - 1; d >= 0; --d) {
    const std::int32_t extent = batch_extent(s, d);
    strides[d] = extent == 1 ? 0 : stride;
    stride *= extent;
  }
}

}  // namespace detail

// T is std::int8_t. Fails for invalid scales or zero points, ranks outside 2..6, non-positive
// extents, depths (K) that differ, batch extents that do not broadcast, and a depth so large
// that K · max|lhs + lhs_offset| · max|rhs + rhs_offset| could overflow the int32 accumulator.
template <class T = std::int8_t, class Policy = double_rounding>
constexpr result<batch_matmul_params<T, Policy>> prepare_batch_matmul(const quantization_params& lhs,
                                                                      const shape& lhs_shape,
                                                                      const quantization_params& rhs,
                                                                      const shape& rhs_shape,
                                                                      const quantization_params& output,
                                                                      const batch_matmul_options& options = {}) noexcept {
  QKERN_TRY(validate_quantization<T>(lhs, "lhs"));
  QKERN_TRY(validate_quantization<T>(rhs, "rhs"));
  QKERN_TRY(validate_quantization<T>(output, "output"));
  QKERN_TRY(validate_shape(lhs_shape, "lhs"));
  QKERN_TRY(validate_shape(rhs_shape, "rhs"));
  if (lhs_shape.rank < 2) return status(status_code::invalid_shape, "rank must be at least 2", "lhs", lhs_shape.rank);
  if (rhs_shape.rank < 2) return status(status_code::invalid_shape, "rank must be at least 2", "rhs", rhs_shape.rank);
  QKERN_TRY(detail::require_positive_extents(lhs_shape, "lhs"));
  QKERN_TRY(detail::require_positive_extents(rhs_shape, "rhs"));

  batch_matmul_params<T, Policy> p;
  const std::int32_t lhs_inner = lhs_shape[lhs_shape.rank - 1];
  const std::int32_t lhs_outer = lhs_shape[lhs_shape.rank - 2];
  const std::int32_t rhs_inner = rhs_shape[rhs_shape.rank - 1];
  const std::int32_t rhs_outer = rhs_shape[rhs_shape.rank - 2];
  p.adj_x = options.adj_x;
  p.adj_y = options.adj_y;
  p.rows = options.adj_x ? lhs_inner : lhs_outer;
  p.depth = options.adj_x ? lhs_outer : lhs_inner;
  p.cols = options.adj_y ? rhs_outer : rhs_inner;
  const std::int32_t rhs_depth = options.adj_y ? rhs_inner : rhs_outer;
  if (rhs_depth != p.depth) {
    return status(status_code::invalid_shape, "depth (K) differs from lhs's", "rhs", rhs_depth);
  }

  const int output_rank = lhs_shape.rank > rhs_shape.rank ? lhs_shape.rank : rhs_shape.rank;
  p.output_shape.rank = output_rank;
  for (int d = 0; d < max_batch_rank; ++d) {
    const std::int32_t a = detail::batch_extent(lhs_shape, d);
    const std::int32_t b = detail::batch_extent(rhs_shape, d);
    if (a != b && a != 1 && b != 1) {
      return status(status_code::not_broadcastable, "batch extents differ and neither is 1", "lhs and rhs", b);
    }
    p.batch[d] = a == 1 ? b : a;
    const int out_dim = d - (max_batch_rank - (output_rank - 2));
    if (out_dim >= 0) p.output_shape[out_dim] = p.batch[d];
  }
  p.output_shape[output_rank - 2] = p.rows;
  p.output_shape[output_rank - 1] = p.cols;
  QKERN_TRY(validate_shape(p.output_shape, "output"));
  detail::batch_strides(lhs_shape, p.lhs_batch_stride);
  detail::batch_strides(rhs_shape, p.rhs_batch_stride);

  p.lhs_offset = -lhs.zero_point;
  p.rhs_offset = -rhs.zero_point;
  p.output_offset = output.zero_point;
  QKERN_TRY(detail::check_accumulator_bound<std::int32_t>(
      p.depth, detail::max_abs_offset_value<T>(lhs.zero_point), detail::max_abs_offset_value<T>(rhs.zero_point), 0,
      "could overflow: K * max|lhs + lhs_offset| * max|rhs + rhs_offset| must not exceed 2^31 - 1"));
  const auto m = derive_float_product_multiplier<Policy>(lhs.scale, rhs.scale, output.scale);
  if (!m.ok()) return m.error().about("output");
  p.output_multiplier = *m;
  return p;
}

// --- the scalar reference ---------------------------------------------------------------------

namespace scalar {

template <class T, class Policy>
constexpr void batch_matmul(const batch_matmul_params<T, Policy>& p, const T* lhs, const T* rhs,
                            T* output) noexcept {
  static_assert(max_batch_rank == 4, "the batch loop below walks four dimensions");
  const auto m = static_cast<std::size_t>(p.rows);
  const auto k_size = static_cast<std::size_t>(p.depth);
  const auto n = static_cast<std::size_t>(p.cols);
  // Element strides of lhs[i][k] and rhs[k][j] in their stored (possibly transposed) layout.
  const std::size_t lhs_row_step = p.adj_x ? 1 : k_size;
  const std::size_t lhs_depth_step = p.adj_x ? m : 1;
  const std::size_t rhs_depth_step = p.adj_y ? 1 : n;
  const std::size_t rhs_col_step = p.adj_y ? k_size : 1;
  T* out = output;
  for (std::int32_t b0 = 0; b0 < p.batch[0]; ++b0) {
    for (std::int32_t b1 = 0; b1 < p.batch[1]; ++b1) {
      for (std::int32_t b2 = 0; b2 < p.batch[2]; ++b2) {
        for (std::int32_t b3 = 0; b3 < p.batch[3]; ++b3) {
          const std::int64_t lhs_matrix = b0 * p.lhs_batch_stride[0] + b1 * p.lhs_batch_stride[1] +
                                          b2 * p.lhs_batch_stride[2] + b3 * p.lhs_batch_stride[3];
          const std::int64_t rhs_matrix = b0 * p.rhs_batch_stride[0] + b1 * p.rhs_batch_stride[1] +
                                          b2 * p.rhs_batch_stride[2] + b3 * p.rhs_batch_stride[3];
          const T* a = lhs + static_cast<std::size_t>(lhs_matrix) * m * k_size;
          const T* c = rhs + static_cast<std::size_t>(rhs_matrix) * k_size * n;
          for (std::size_t i = 0; i < m; ++i) {
            for (std::size_t j = 0; j < n; ++j) {
              std::int32_t acc = 0;
              for (std::size_t k = 0; k < k_size; ++k) {
                acc += (a[i * lhs_row_step + k * lhs_depth_step] + p.lhs_offset) *
                       (c[k * rhs_depth_step + j * rhs_col_step] + p.rhs_offset);
              }
              *out++ = detail::requantize_accumulator<T, Policy>(acc, p.output_multiplier, p.output_offset,
                                                                 p.output_activation_min, p.output_activation_max);
            }
          }
        }
      }
    }
  }
}

}  // namespace scalar

// --- the public eval ------------------------------------------------------------------------

// output (p.output_shape) = lhs · rhs per broadcast batch, each operand transposed if asked.
template <class T, class Policy>
constexpr void batch_matmul(const batch_matmul_params<T, Policy>& p, const T* lhs, const T* rhs, T* output) noexcept {
  scalar::batch_matmul(p, lhs, rhs, output);
}

}  // namespace qkern
