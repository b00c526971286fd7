// The vector fixed-point primitives equal the scalar core lane by lane, on random lanes with
// extremes and rounding ties weighted in, for every shift and exponent the core accepts.
#include <doctest/doctest.h>

#include <string>

#include "cases.hpp"
#include "runner.hpp"

using qkern::double_rounding;
using qkern::single_rounding;
using qkern_simd_test::check_cases;

TEST_CASE("saturating_rounding_doubling_high_mul equals the scalar core") {
  check_cases("high mul", [](auto& src) { return qkern_simd_test::high_mul_case(src); });
}

TEST_CASE("rounding_divide_by_pot equals the scalar core, every exponent 0..31") {
  for (int exponent = 0; exponent <= 31; ++exponent) {
    check_cases("exponent " + std::to_string(exponent),
                [exponent](auto& src) { return qkern_simd_test::divide_case(src, exponent); });
  }
}

TEST_CASE("saturating_left_shift equals the scalar core, every exponent 0..40") {
  for (int exponent = 0; exponent <= 40; ++exponent) {
    check_cases("exponent " + std::to_string(exponent),
                [exponent](auto& src) { return qkern_simd_test::left_shift_case(src, exponent); });
  }
}

TEST_CASE("multiply<double_rounding> equals double_rounding::multiply, every shift -31..30") {
  for (int shift = -31; shift <= 30; ++shift) {
    check_cases("shift " + std::to_string(shift),
                [shift](auto& src) { return qkern_simd_test::multiply_case<double_rounding>(src, shift); });
  }
}

TEST_CASE("multiply<single_rounding> equals single_rounding::multiply, every shift -31..30") {
  for (int shift = -31; shift <= 30; ++shift) {
    check_cases("shift " + std::to_string(shift),
                [shift](auto& src) { return qkern_simd_test::multiply_case<single_rounding>(src, shift); });
  }
}

TEST_CASE("multiply_smaller_than_one_exp equals the scalar policies, every shift -31..0") {
  for (int shift = -31; shift <= 0; ++shift) {
    check_cases("double, shift " + std::to_string(shift),
                [shift](auto& src) { return qkern_simd_test::smaller_than_one_case<double_rounding>(src, shift); });
    check_cases("single, shift " + std::to_string(shift),
                [shift](auto& src) { return qkern_simd_test::smaller_than_one_case<single_rounding>(src, shift); });
  }
}
