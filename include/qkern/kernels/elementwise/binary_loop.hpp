// The shared broadcast driver of binary elementwise ops.
//
// binary_rows(plan, in1, in2, out, row) covers the output with contiguous rows and calls
//   row(a, a_step, b, b_step, out, n)
// for each: out[i] = f(a[i * a_step], b[i * b_step]) for i < n, where each step is 1 (the operand
// follows the row) or 0 (its one element is broadcast along the row). Every broadcast kind of the
// plan becomes such rows: one row for same-shape and scalar, one row per outer index for the
// vector kinds, and for the general case one row per innermost line of the collapsed loop nest.
// A SIMD row kernel therefore needs only three loops (steps 1/1, 0/1, 1/0).
//
// binary_loop(plan, in1, in2, out, op) is the per-element form the scalar references use: it
// stores op(element of in1, element of in2) through the same rows. `op` always receives its
// operands in that order, whichever is broadcast, so non-commutative ops need no swapping.
#pragma once

#include <cstdint>

#include "qkern/core/broadcast.hpp"
#include "qkern/core/shape.hpp"

namespace qkern {

// Preconditions: `plan` came from make_broadcast_plan(shape of in1, shape of in2); in1 and in2
// hold their shapes' element counts and out holds plan.output_count elements.
template <class In1, class In2, class Out, class Row>
constexpr void binary_rows(const broadcast_plan& plan, const In1* in1, const In2* in2, Out* out, Row&& row) noexcept {
  const std::int64_t count = plan.output_count;
  if (count <= 0) return;
  const bool first_is_small = plan.operand == broadcast_operand::first;
  switch (plan.kind) {
    case broadcast_kind::same_shape:
      row(in1, 1, in2, 1, out, count);
      return;
    case broadcast_kind::scalar:
      row(in1, first_is_small ? 0 : 1, in2, first_is_small ? 1 : 0, out, count);
      return;
    case broadcast_kind::inner_vector: {
      // [outer, inner]: the vector operand has `inner` elements, reused for every outer index.
      const std::int64_t inner = plan.extent[1];
      for (std::int64_t base = 0; base < count; base += inner) {
        row(first_is_small ? in1 : in1 + base, 1, first_is_small ? in2 + base : in2, 1, out + base, inner);
      }
      return;
    }
    case broadcast_kind::outer_vector: {
      // [outer, inner]: the vector operand has `outer` elements, each repeated over a row.
      const std::int64_t inner = plan.extent[1];
      for (std::int64_t o = 0, base = 0; base < count; ++o, base += inner) {
        if (first_is_small) {
          row(in1 + o, 0, in2 + base, 1, out + base, inner);
        } else {
          row(in1 + base, 1, in2 + o, 0, out + base, inner);
        }
      }
      return;
    }
    case broadcast_kind::general: {
      // An odometer over the collapsed outer dimensions carries both operands' offsets; the
      // innermost dimension is one row (its strides are 1 or 0).
      const int last = plan.rank - 1;
      const std::int64_t inner = plan.extent[last];
      const auto step1 = static_cast<int>(plan.stride_first[last]);
      const auto step2 = static_cast<int>(plan.stride_second[last]);
      std::int64_t counter[max_rank] = {};
      std::int64_t offset1 = 0;
      std::int64_t offset2 = 0;
      for (std::int64_t base = 0; base < count; base += inner) {
        row(in1 + offset1, step1, in2 + offset2, step2, out + base, inner);
        for (int d = last - 1; d >= 0; --d) {
          offset1 += plan.stride_first[d];
          offset2 += plan.stride_second[d];
          if (++counter[d] < plan.extent[d]) break;
          offset1 -= plan.stride_first[d] * plan.extent[d];
          offset2 -= plan.stride_second[d] * plan.extent[d];
          counter[d] = 0;
        }
      }
      return;
    }
  }
}

// binary_rows for a row kernel that also has
//   run_repeated(vector, vector_is_first, big, out, inner, rows)
// for the inner-vector kind with at most Row::max_vector elements (SE blocks): it prepares the
// vector once and reuses it for every row, instead of once per row.
template <class T, class Row>
void binary_rows_repeating(const Row& row, const broadcast_plan& plan, const T* input1, const T* input2,
                           T* output) noexcept {
  const std::int64_t inner = plan.extent[1];
  if (plan.kind == broadcast_kind::inner_vector && inner > 0 && inner <= Row::max_vector) {
    const bool first = plan.operand == broadcast_operand::first;
    row.run_repeated(first ? input1 : input2, first, first ? input2 : input1, output, inner, plan.output_count / inner);
  } else {
    binary_rows(plan, input1, input2, output, row);
  }
}

template <class In1, class In2, class Out, class Op>
constexpr void binary_loop(const broadcast_plan& plan, const In1* in1, const In2* in2, Out* out, Op&& op) noexcept {
  binary_rows(plan, in1, in2, out,
              [&op](const In1* a, int a_step, const In2* b, int b_step, Out* o, std::int64_t n) {
                for (std::int64_t i = 0; i < n; ++i) o[i] = op(a[i * a_step], b[i * b_step]);
              });
}

}  // namespace qkern
