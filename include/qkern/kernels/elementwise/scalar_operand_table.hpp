// An int8 binary op whose one operand is a single element (broadcast kind `scalar`) is a
// function of the other operand's 256 values: on AVX-512 VBMI, large outputs are made by
// running the op once on all 256 values into a table and reading it with byte permutes
// (simd/byte_lookup.hpp). Each output is a copy of the op's own output for that value, so the
// result is the same as running the op on the whole tensor.
#pragma once

#include <cstdint>
#include <type_traits>

#include "qkern/core/broadcast.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/simd/arch.hpp"
#include "qkern/simd/byte_lookup.hpp"

namespace qkern {
namespace simd {
namespace detail {

// Below this many outputs, filling the table costs more than it saves.
inline constexpr std::int64_t scalar_operand_table_min_count = 4096;

// The plan of a same-shape op on 256 elements: what filling a table runs.
inline broadcast_plan table_fill_plan() noexcept {
  shape s;
  s.rank = 1;
  s.dims[0] = 256;
  return make_broadcast_plan(s, s).value();
}

// Runs the op by table and returns true where that applies (else does nothing).
// `fill(first, second, out)` runs the op itself on 256 element pairs, same shape.
template <class A, class Fill>
bool run_scalar_operand_table(const broadcast_plan& plan, const std::int8_t* input1, const std::int8_t* input2,
                              std::int8_t* output, Fill fill) noexcept {
#if XSIMD_WITH_AVX512BW && defined(__AVX512VBMI__)
  if constexpr (std::is_base_of<xsimd::avx512bw, A>::value) {
    if (plan.kind != broadcast_kind::scalar || plan.output_count < scalar_operand_table_min_count) return false;
    const bool first_is_scalar = plan.operand == broadcast_operand::first;
    alignas(64) std::int8_t varying[256];
    alignas(64) std::int8_t constant[256];
    for (int i = 0; i < 256; ++i) {
      varying[i] = static_cast<std::int8_t>(static_cast<std::uint8_t>(i));  // entry i is the byte i
      constant[i] = first_is_scalar ? input1[0] : input2[0];
    }
    alignas(64) std::int8_t table[256];
    fill(first_is_scalar ? constant : varying, first_is_scalar ? varying : constant, table);
    simd::lookup_int8_table<A>(table, first_is_scalar ? input2 : input1, output, plan.output_count);
    return true;
  }
#endif
  (void)plan, (void)input1, (void)input2, (void)output, (void)fill;
  return false;
}

}  // namespace detail
}  // namespace simd
}  // namespace qkern
