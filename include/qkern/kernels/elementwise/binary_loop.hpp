// The shared broadcast driver of binary elementwise ops.
//
// binary_loop(plan, in1, in2, out, op) stores op(a, b) into every output element, where a and b
// are the elements of in1 and in2 that NumPy-style broadcasting pairs with it. Each broadcast
// kind of the plan has its own loop, so the common cases run without per-element index
// arithmetic; all of them call the same `op`, so the per-element arithmetic is identical on
// every path. `op` always receives (element of in1, element of in2) in that order, whichever
// operand is broadcast: non-commutative ops (sub, less, ...) need no operand swapping.
#pragma once

#include <cstdint>

#include "qkern/core/broadcast.hpp"
#include "qkern/core/shape.hpp"

namespace qkern {

// Preconditions: `plan` came from make_broadcast_plan(shape of in1, shape of in2); in1 and in2
// hold their shapes' element counts and out holds plan.output_count elements.
template <class In1, class In2, class Out, class Op>
constexpr void binary_loop(const broadcast_plan& plan, const In1* in1, const In2* in2, Out* out, Op&& op) noexcept {
  const std::int64_t count = plan.output_count;
  if (count <= 0) return;
  switch (plan.kind) {
    case broadcast_kind::same_shape: {
      for (std::int64_t i = 0; i < count; ++i) out[i] = op(in1[i], in2[i]);
      return;
    }
    case broadcast_kind::scalar: {
      if (plan.operand == broadcast_operand::first) {
        const In1 a = in1[0];
        for (std::int64_t i = 0; i < count; ++i) out[i] = op(a, in2[i]);
      } else {
        const In2 b = in2[0];
        for (std::int64_t i = 0; i < count; ++i) out[i] = op(in1[i], b);
      }
      return;
    }
    case broadcast_kind::inner_vector: {
      // [outer, inner]: the vector operand has `inner` elements, reused for every outer index.
      const std::int64_t outer = plan.extent[0];
      const std::int64_t inner = plan.extent[1];
      for (std::int64_t o = 0; o < outer; ++o) {
        const std::int64_t base = o * inner;
        if (plan.operand == broadcast_operand::first) {
          for (std::int64_t i = 0; i < inner; ++i) out[base + i] = op(in1[i], in2[base + i]);
        } else {
          for (std::int64_t i = 0; i < inner; ++i) out[base + i] = op(in1[base + i], in2[i]);
        }
      }
      return;
    }
    case broadcast_kind::outer_vector: {
      // [outer, inner]: the vector operand has `outer` elements, each repeated over a run.
      const std::int64_t outer = plan.extent[0];
      const std::int64_t inner = plan.extent[1];
      for (std::int64_t o = 0; o < outer; ++o) {
        const std::int64_t base = o * inner;
        if (plan.operand == broadcast_operand::first) {
          const In1 a = in1[o];
          for (std::int64_t i = 0; i < inner; ++i) out[base + i] = op(a, in2[base + i]);
        } else {
          const In2 b = in2[o];
          for (std::int64_t i = 0; i < inner; ++i) out[base + i] = op(in1[base + i], b);
        }
      }
      return;
    }
    case broadcast_kind::general: {
      // A loop nest over the collapsed dimensions: the innermost one is an explicit strided loop,
      // the outer ones advance like an odometer, carrying both operands' offsets along.
      const int last = plan.rank - 1;
      const std::int64_t inner = plan.extent[last];
      const std::int64_t step1 = plan.stride_first[last];
      const std::int64_t step2 = plan.stride_second[last];
      std::int64_t counter[max_rank] = {};
      std::int64_t offset1 = 0;
      std::int64_t offset2 = 0;
      for (std::int64_t base = 0; base < count; base += inner) {
        for (std::int64_t i = 0; i < inner; ++i) out[base + i] = op(in1[offset1 + i * step1], in2[offset2 + i * step2]);
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

}  // namespace qkern
