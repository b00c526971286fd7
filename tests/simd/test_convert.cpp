// Widening and saturating narrowing equal per-lane casts (saturating_cast for narrowing), in
// lane order, on random lanes with every type's limits and their neighbours weighted in.
#include <doctest/doctest.h>

#include <cstdint>

#include "cases.hpp"
#include "runner.hpp"

using qkern_simd_test::check_cases;

TEST_CASE("widen_low and widen_high sign- or zero-extend the lanes in order") {
  check_cases("int8 -> int16", [](auto& src) { return qkern_simd_test::widen_case<std::int8_t>(src); });
  check_cases("uint8 -> int16", [](auto& src) { return qkern_simd_test::widen_case<std::uint8_t>(src); });
  check_cases("int16 -> int32", [](auto& src) { return qkern_simd_test::widen_case<std::int16_t>(src); });
}

TEST_CASE("saturating_narrow clamps each lane like saturating_cast and keeps lane order") {
  using qkern_simd_test::narrow_case;
  check_cases("int32 -> int16", [](auto& src) { return narrow_case<std::int16_t, std::int32_t, 2>(src); });
  check_cases("int16 -> int8", [](auto& src) { return narrow_case<std::int8_t, std::int16_t, 2>(src); });
  check_cases("int16 -> uint8", [](auto& src) { return narrow_case<std::uint8_t, std::int16_t, 2>(src); });
  check_cases("int32 -> int8", [](auto& src) { return narrow_case<std::int8_t, std::int32_t, 4>(src); });
  check_cases("int32 -> uint8", [](auto& src) { return narrow_case<std::uint8_t, std::int32_t, 4>(src); });
}
