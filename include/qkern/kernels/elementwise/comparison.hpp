// equal, not_equal, less, less_equal, greater, greater_equal (int8 inputs, bool output), with
// NumPy broadcasting. The six ops share one params struct and one prepare.
//
// Each input is compared as MBQM_smaller_than_one_exp((q - zp) · 2^8, scale): roughly its real
// value times 256, rounded. This is TFLite's arithmetic, not an exact comparison of the
// dequantized values: values closer than about 1/256 in real units compare equal.
//
//   auto p = qkern::prepare_comparison<std::int8_t>(q1, shape1, q2, shape2);
//   if (p) qkern::less(*p, in1, in2, out);   // bool out[p->broadcast.output_count]
#pragma once

#include <cstdint>
#include <type_traits>

#include "qkern/core/broadcast.hpp"
#include "qkern/core/quantization.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/elementwise/binary_loop.hpp"
#include "qkern/kernels/elementwise/common.hpp"

namespace qkern {

template <class T, class Policy = double_rounding>
struct comparison_params {
  static_assert(std::is_same<T, std::int8_t>::value, "quantized comparisons are defined for int8");
  using element_type = T;
  using policy = Policy;
  using multiplier_type = typename Policy::multiplier_type;

  int left_shift = 8;
  std::int32_t input1_offset = 0;  // -zero point of input1
  std::int32_t input2_offset = 0;  // -zero point of input2
  multiplier_type input1_multiplier{};  // the scale itself
  multiplier_type input2_multiplier{};
  bool requires_broadcast = false;  // TFLite's flag: the two input shapes differ
  broadcast_plan broadcast{};

  // The values the comparison sees. |q + offset| <= 255, so the shifted value fits easily.
  constexpr std::int32_t compared_value1(T q) const noexcept {
    return Policy::multiply_smaller_than_one_exp((q + input1_offset) * (1 << left_shift), input1_multiplier);
  }
  constexpr std::int32_t compared_value2(T q) const noexcept {
    return Policy::multiply_smaller_than_one_exp((q + input2_offset) * (1 << left_shift), input2_multiplier);
  }
};

// Fails for invalid quantizations, scales of 1 or more (the scale is used as a multiplier below
// one, as in TFLite), and shapes that do not broadcast.
template <class T, class Policy = double_rounding>
constexpr result<comparison_params<T, Policy>> prepare_comparison(const quantization_params& input1,
                                                                  const shape& input1_shape,
                                                                  const quantization_params& input2,
                                                                  const shape& input2_shape) noexcept {
  QKERN_TRY(validate_quantization<T>(input1, "input1"));
  QKERN_TRY(validate_quantization<T>(input2, "input2"));

  comparison_params<T, Policy> p;
  const auto plan = make_broadcast_plan(input1_shape, input2_shape);
  if (!plan.ok()) return plan.error().about("input1 and input2");
  p.broadcast = *plan;
  p.requires_broadcast = input1_shape != input2_shape;
  p.input1_offset = -input1.zero_point;
  p.input2_offset = -input2.zero_point;

  constexpr const char* message = "scale must be below 1 for a quantized comparison (the scale is its multiplier)";
  const auto m1 = detail::quantize_multiplier_below_one<Policy>(static_cast<double>(input1.scale), message, "input1");
  if (!m1.ok()) return m1.error();
  const auto m2 = detail::quantize_multiplier_below_one<Policy>(static_cast<double>(input2.scale), message, "input2");
  if (!m2.ok()) return m2.error();
  p.input1_multiplier = *m1;
  p.input2_multiplier = *m2;
  return p;
}

// --- the scalar reference ---------------------------------------------------------------------

template <class T, class Policy>
constexpr bool equal_element(const comparison_params<T, Policy>& p, T a, T b) noexcept {
  return p.compared_value1(a) == p.compared_value2(b);
}
template <class T, class Policy>
constexpr bool not_equal_element(const comparison_params<T, Policy>& p, T a, T b) noexcept {
  return p.compared_value1(a) != p.compared_value2(b);
}
template <class T, class Policy>
constexpr bool less_element(const comparison_params<T, Policy>& p, T a, T b) noexcept {
  return p.compared_value1(a) < p.compared_value2(b);
}
template <class T, class Policy>
constexpr bool less_equal_element(const comparison_params<T, Policy>& p, T a, T b) noexcept {
  return p.compared_value1(a) <= p.compared_value2(b);
}
template <class T, class Policy>
constexpr bool greater_element(const comparison_params<T, Policy>& p, T a, T b) noexcept {
  return p.compared_value1(a) > p.compared_value2(b);
}
template <class T, class Policy>
constexpr bool greater_equal_element(const comparison_params<T, Policy>& p, T a, T b) noexcept {
  return p.compared_value1(a) >= p.compared_value2(b);
}

namespace scalar {

template <class T, class Policy>
constexpr void equal(const comparison_params<T, Policy>& p, const T* input1, const T* input2, bool* output) noexcept {
  binary_loop(p.broadcast, input1, input2, output, [&p](T a, T b) { return equal_element(p, a, b); });
}
template <class T, class Policy>
constexpr void not_equal(const comparison_params<T, Policy>& p, const T* input1, const T* input2,
                         bool* output) noexcept {
  binary_loop(p.broadcast, input1, input2, output, [&p](T a, T b) { return not_equal_element(p, a, b); });
}
template <class T, class Policy>
constexpr void less(const comparison_params<T, Policy>& p, const T* input1, const T* input2, bool* output) noexcept {
  binary_loop(p.broadcast, input1, input2, output, [&p](T a, T b) { return less_element(p, a, b); });
}
template <class T, class Policy>
constexpr void less_equal(const comparison_params<T, Policy>& p, const T* input1, const T* input2,
                          bool* output) noexcept {
  binary_loop(p.broadcast, input1, input2, output, [&p](T a, T b) { return less_equal_element(p, a, b); });
}
template <class T, class Policy>
constexpr void greater(const comparison_params<T, Policy>& p, const T* input1, const T* input2,
                       bool* output) noexcept {
  binary_loop(p.broadcast, input1, input2, output, [&p](T a, T b) { return greater_element(p, a, b); });
}
template <class T, class Policy>
constexpr void greater_equal(const comparison_params<T, Policy>& p, const T* input1, const T* input2,
                             bool* output) noexcept {
  binary_loop(p.broadcast, input1, input2, output, [&p](T a, T b) { return greater_equal_element(p, a, b); });
}

}  // namespace scalar

// output[i] = (input1 OP input2) on the rescaled values, broadcast; output holds
// p.broadcast.output_count elements.
template <class T, class Policy>
constexpr void equal(const comparison_params<T, Policy>& p, const T* input1, const T* input2, bool* output) noexcept {
  scalar::equal(p, input1, input2, output);
}
template <class T, class Policy>
constexpr void not_equal(const comparison_params<T, Policy>& p, const T* input1, const T* input2,
                         bool* output) noexcept {
  scalar::not_equal(p, input1, input2, output);
}
template <class T, class Policy>
constexpr void less(const comparison_params<T, Policy>& p, const T* input1, const T* input2, bool* output) noexcept {
  scalar::less(p, input1, input2, output);
}
template <class T, class Policy>
constexpr void less_equal(const comparison_params<T, Policy>& p, const T* input1, const T* input2,
                          bool* output) noexcept {
  scalar::less_equal(p, input1, input2, output);
}
template <class T, class Policy>
constexpr void greater(const comparison_params<T, Policy>& p, const T* input1, const T* input2,
                       bool* output) noexcept {
  scalar::greater(p, input1, input2, output);
}
template <class T, class Policy>
constexpr void greater_equal(const comparison_params<T, Policy>& p, const T* input1, const T* input2,
                             bool* output) noexcept {
  scalar::greater_equal(p, input1, input2, output);
}

}  // namespace qkern
