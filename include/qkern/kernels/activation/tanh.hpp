// tanh (int8, int16) as TFLite Micro's reference kernels compute it.
//
// int8: as logistic, q - zp is rescaled to Q4.27 by a left-shifting multiply (frexp of s_in · 2^27)
// and goes through the fixed-point tanh of core/fixed_point_math.hpp, rounded to 8 bits; inputs at
// least input_range_radius from the zero point saturate. TFLite Micro checks nothing about the
// output, but the arithmetic produces scale 1/128 and zero point 0, which TFLite requires: so does
// prepare_tanh.
// int16: TFLite's sigmoid table read as tanh(x) = 2·sigmoid(2x) - 1, linearly interpolated
// (kernels/activation/sigmoid_table.hpp); zero points 0, output scale 2^-15.
// The float-built lookup-table dialect of TFLite's own int8 kernel is qkern::tanh_lut.
//
//   auto p = qkern::prepare_tanh<std::int16_t>(q_in, q_out, shape);
//   if (p) qkern::tanh(*p, in, out);   // out holds p->count elements
#pragma once

#include <cstdint>
#include <type_traits>

#include "qkern/core/fixed_point.hpp"
#include "qkern/core/fixed_point_math.hpp"
#include "qkern/core/quantization.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/activation/common.hpp"
#include "qkern/kernels/activation/sigmoid_table.hpp"

#if QKERN_SIMD
#include "qkern/simd/arch.hpp"
#include "qkern/simd/byte_lookup.hpp"
#include "qkern/simd/constant_evaluation.hpp"
#endif

namespace qkern {

template <class T, class Policy = double_rounding>
struct tanh_params;

template <class Policy>
struct tanh_params<std::int8_t, Policy> : detail::q4_27_input_rescale {
  using element_type = std::int8_t;
  using policy = Policy;
  std::int64_t count = 0;
  // tanh_element of every int8 input, indexed by its bit pattern (static_cast<std::uint8_t>(q)):
  // prepare fills it from the scalar reference itself, so the SIMD path's lookup is exact.
  std::int8_t table[256] = {};
};

template <class Policy>
struct tanh_params<std::int16_t, Policy> : detail::sigmoid_table_input_rescale {
  using element_type = std::int16_t;
  using policy = Policy;
  std::int64_t count = 0;
};

// T is std::int8_t or std::int16_t. Fails for invalid quantizations, an output quantization other
// than the fixed one, int16 zero points other than 0, and input scales the rescale cannot handle.
// (The int16 form classifies power-of-two scales with std::log, so it is not constexpr.)
template <class T, class Policy = double_rounding>
constexpr result<tanh_params<T, Policy>> prepare_tanh(const quantization_params& input,
                                                      const quantization_params& output,
                                                      const shape& input_shape) noexcept {
  static_assert(detail::is_int8_or_int16_activation<T>, "tanh is defined for int8 and int16");
  QKERN_TRY(validate_quantization<T>(input, "input"));
  QKERN_TRY(validate_quantization<T>(output, "output"));
  const auto count = detail::activation_element_count(input_shape);
  if (!count.ok()) return count.error();
  tanh_params<T, Policy> p;
  p.count = *count;
  if constexpr (std::is_same<T, std::int8_t>::value) {
    QKERN_TRY(detail::require_output_quantization(output, 1.0f / 128.0f, 0, "tanh output scale must be 1/128",
                                                  "tanh output zero point must be 0"));
    const auto rescale = detail::make_q4_27_input_rescale(input);
    if (!rescale.ok()) return rescale.error();
    static_cast<detail::q4_27_input_rescale&>(p) = *rescale;
    for (int q = -128; q <= 127; ++q) {
      p.table[static_cast<std::uint8_t>(q)] = tanh_element(p, static_cast<std::int8_t>(q));
    }
  } else {
    const auto rescale = detail::make_sigmoid_table_input_rescale(input, output, 1);
    if (!rescale.ok()) return rescale.error();
    static_cast<detail::sigmoid_table_input_rescale&>(p) = *rescale;
  }
  return p;
}

// --- the scalar reference ---------------------------------------------------------------------

template <class Policy>
constexpr std::int8_t tanh_element(const tanh_params<std::int8_t, Policy>& p, std::int8_t q) noexcept {
  const std::int32_t input = q - p.input_zero_point;
  if (input <= -p.input_range_radius) return -128;
  if (input >= p.input_range_radius) return 127;
  const std::int32_t input_q4_27 = Policy::multiply(input, p.input_multiplier);  // a left shift: policy-independent
  const std::int32_t output_q0_31 = tanh(q31<4>::from_raw(input_q4_27)).raw;
  const std::int32_t output = rounding_divide_by_pot(output_q0_31, 24);  // Q0.31 -> 1/128 units
  return static_cast<std::int8_t>(output > 127 ? 127 : (output < -128 ? -128 : output));
}

template <class Policy>
constexpr std::int16_t tanh_element(const tanh_params<std::int16_t, Policy>& p, std::int16_t q) noexcept {
  const auto rescale = detail::effective_sigmoid_table_rescale(p);
  return detail::tanh_from_sigmoid_table(
      sigmoid_table_q0_16, detail::sigmoid_table_rescaled_input(q, rescale.input_multiplier, rescale.input_left_shift));
}

namespace scalar {

template <class T, class Policy>
constexpr void tanh(const tanh_params<T, Policy>& p, const T* input, T* output) noexcept {
  for (std::int64_t i = 0; i < p.count; ++i) output[i] = tanh_element(p, input[i]);
}

}  // namespace scalar

// --- the SIMD path ---------------------------------------------------------------------------

#if QKERN_SIMD
namespace simd {

// The vector path for arch A: int8 reads prepare's table (exactly tanh_element per input, so
// bit-identical to scalar::tanh); int16 runs the scalar reference.
template <class A = default_arch, class T, class Policy>
void tanh(const tanh_params<T, Policy>& p, const T* input, T* output) noexcept {
  if constexpr (std::is_same<T, std::int8_t>::value) {
    simd::lookup_int8_table<A>(p.table, input, output, p.count);
  } else {
    scalar::tanh(p, input, output);
  }
}

}  // namespace simd
#endif  // QKERN_SIMD

// --- the public eval -------------------------------------------------------------------------

// output[i] = tanh(input[i]) for p.count elements. The SIMD path when qkern is built with it
// (the scalar reference in constant expressions); both give the same bits.
template <class T, class Policy>
constexpr void tanh(const tanh_params<T, Policy>& p, const T* input, T* output) noexcept {
#if QKERN_SIMD
  if (!simd::in_constant_evaluation()) {
    simd::tanh(p, input, output);
    return;
  }
#endif
  scalar::tanh(p, input, output);
}

}  // namespace qkern
