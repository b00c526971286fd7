// The broadcast plan of a binary elementwise op: NumPy-style right-aligned broadcasting of
// two shapes, collapsed to the fewest loop dimensions and classified into the cases that have
// a fast path.
#pragma once

#include <cstdint>

#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"

namespace qkern {

enum class broadcast_kind : std::uint8_t {
  same_shape,    // both operands have the output's shape (also: one element each)
  scalar,        // `operand` has one element
  inner_vector,  // `operand` varies along the inner loop, repeated over the outer (SE: 1x1x1xC * NxHxWxC, N=1)
  outer_vector,  // `operand` varies along the outer loop, each element repeated over a run ([N,1] * [N,C])
  general,       // anything else: a strided loop nest over the collapsed dimensions
};

enum class broadcast_operand : std::uint8_t { none, first, second };

constexpr const char* broadcast_kind_name(broadcast_kind k) noexcept {
  switch (k) {
    case broadcast_kind::same_shape: return "same_shape";
    case broadcast_kind::scalar: return "scalar";
    case broadcast_kind::inner_vector: return "inner_vector";
    case broadcast_kind::outer_vector: return "outer_vector";
    case broadcast_kind::general: return "general";
  }
  return "unknown";
}

struct broadcast_plan {
  broadcast_kind kind = broadcast_kind::same_shape;
  broadcast_operand operand = broadcast_operand::none;  // the scalar or vector operand
  shape output;                                         // the broadcast shape
  std::int64_t output_count = 0;
  // Collapsed loop nest, outermost first. Adjacent dimensions in which each operand either
  // follows the output or is broadcast alike are merged; extent-1 dimensions are dropped.
  // A stride is in elements of that operand, 0 where it is broadcast.
  int rank = 0;
  std::int64_t extent[max_rank] = {};
  std::int64_t stride_first[max_rank] = {};
  std::int64_t stride_second[max_rank] = {};

  constexpr bool requires_broadcast() const noexcept { return kind != broadcast_kind::same_shape; }
};

constexpr result<broadcast_plan> make_broadcast_plan(const shape& first, const shape& second) noexcept {
  QKERN_TRY(validate_shape(first, "input1"));
  QKERN_TRY(validate_shape(second, "input2"));
  broadcast_plan plan;
  const int rank = first.rank > second.rank ? first.rank : second.rank;
  plan.output.rank = rank;

  bool full_first[max_rank] = {};
  bool full_second[max_rank] = {};
  int collapsed = 0;
  for (int d = 0; d < rank; ++d) {
    const int da = d - (rank - first.rank);
    const int db = d - (rank - second.rank);
    const std::int32_t ea = da >= 0 ? first.dims[da] : 1;
    const std::int32_t eb = db >= 0 ? second.dims[db] : 1;
    if (ea != eb && ea != 1 && eb != 1) {
      return status(status_code::not_broadcastable,
                    "shapes do not broadcast: extents differ and neither is 1 in output dimension", nullptr, d);
    }
    const std::int32_t out = ea == 1 ? eb : ea;
    plan.output.dims[d] = out;
    if (out == 1) continue;
    const bool fa = ea == out;
    const bool fb = eb == out;
    if (collapsed > 0 && full_first[collapsed - 1] == fa && full_second[collapsed - 1] == fb) {
      plan.extent[collapsed - 1] *= out;
    } else {
      full_first[collapsed] = fa;
      full_second[collapsed] = fb;
      plan.extent[collapsed++] = out;
    }
  }
  plan.rank = collapsed;
  plan.output_count = plan.output.element_count();

  std::int64_t size_first = 1;
  std::int64_t size_second = 1;
  for (int d = collapsed - 1; d >= 0; --d) {
    plan.stride_first[d] = full_first[d] ? size_first : 0;
    plan.stride_second[d] = full_second[d] ? size_second : 0;
    if (full_first[d]) size_first *= plan.extent[d];
    if (full_second[d]) size_second *= plan.extent[d];
  }

  // After merging, neighbouring dimensions differ in pattern, so the classes are exhaustive.
  if (collapsed == 0 || (collapsed == 1 && full_first[0] && full_second[0])) {
    plan.kind = broadcast_kind::same_shape;
  } else if (collapsed == 1) {
    plan.kind = broadcast_kind::scalar;
    plan.operand = full_first[0] ? broadcast_operand::second : broadcast_operand::first;
  } else if (collapsed == 2 && full_first[0] && full_second[0]) {
    plan.kind = broadcast_kind::outer_vector;
    plan.operand = full_first[1] ? broadcast_operand::second : broadcast_operand::first;
  } else if (collapsed == 2 && full_first[1] && full_second[1]) {
    plan.kind = broadcast_kind::inner_vector;
    plan.operand = full_first[0] ? broadcast_operand::second : broadcast_operand::first;
  } else {
    plan.kind = broadcast_kind::general;
  }
  return plan;
}

}  // namespace qkern
