// One random case per primitive: fill a batch's lanes from a Source (lane_values.hpp) and run
// the lane-by-lane check. Shared by the rapidcheck and the seeded programs.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "lane_checks.hpp"
#include "lane_values.hpp"

namespace qkern_simd_test {

template <class Source>
check_result high_mul_case(Source& src) {
  lanes<std::int32_t> a{};
  lanes<std::int32_t> b{};
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto pair = draw_high_mul_pair(src);
    const bool swap = src.in_range(0, 1) == 1;  // the special operand may be either one
    a[i] = swap ? pair.second : pair.first;
    b[i] = swap ? pair.first : pair.second;
  }
  return check_srdhm(a, b);
}

template <class Source>
check_result divide_case(Source& src, int exponent) {
  return check_rounding_divide_by_pot(fill<std::int32_t>(src, [&](Source& s) { return draw_divide_input(s, exponent); }),
                                      exponent);
}

template <class Source>
check_result left_shift_case(Source& src, int exponent) {
  return check_saturating_left_shift(fill<std::int32_t>(src, [](Source& s) { return draw_int32(s); }), exponent);
}

template <class Policy, class Source>
check_result multiply_case(Source& src, int shift) {
  const qkern::quantized_multiplier m{draw_multiplier(src), shift};
  return check_multiply<Policy>(fill<std::int32_t>(src, [&](Source& s) { return draw_accumulator<Policy>(s, m); }), m);
}

template <class Policy, class Source>
check_result smaller_than_one_case(Source& src, int shift) {
  const qkern::quantized_multiplier m{draw_multiplier(src), shift};
  return check_multiply_smaller_than_one_exp<Policy>(
      fill<std::int32_t>(src, [&](Source& s) { return draw_accumulator<Policy>(s, m); }), m);
}

template <class T, class Source>
check_result widen_case(Source& src) {
  return check_widen<T>(fill<T>(src, [](Source& s) { return draw_narrow_value<T>(s); }));
}

template <class To, class From, std::size_t Parts, class Source>
check_result narrow_case(Source& src) {
  std::array<From, lane_count<To>> flat{};
  for (auto& v : flat) v = draw_narrowing_input<To, From>(src);
  return check_narrow<To, From, Parts>(flat);
}

}  // namespace qkern_simd_test
