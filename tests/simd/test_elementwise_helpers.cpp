// The helpers the elementwise kernels added to the simd layer, lane by lane against their plain
// scalar meaning: load_widened (int8 in memory -> int32 lanes) and multiply_int16_lanes.
#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cases.hpp"
#include "qkern/simd/load_widened.hpp"
#include "qkern/simd/multiply_int16_lanes.hpp"
#include "runner.hpp"

namespace {

using namespace qkern_simd_test;

// Exactly lane_count<int32_t> bytes, so that an over-wide load shows under ASan.
using int8_window = std::array<std::int8_t, lane_count<std::int32_t>>;

check_result check_load_widened(const int8_window& bytes) {
  lanes<std::int32_t> expected{};
  for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = bytes[i];
  const auto describe = [&](std::size_t i) { return "byte=" + show(bytes[i]); };
  const char* name = "load_widened";
  return first_failure(
      compare(name, dispatched_path(), store(qkern::simd::load_widened<arch>(bytes.data())), expected, describe),
      compare(name, "generic", store(qkern::simd::detail::load_widened<arch>(bytes.data(), xsimd::generic{})),
              expected, describe));
}

check_result check_multiply_int16_lanes(const lanes<std::int32_t>& a, const lanes<std::int32_t>& b) {
  lanes<std::int32_t> expected{};
  for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = a[i] * b[i];
  const auto describe = [&](std::size_t i) { return "a=" + show(a[i]) + " b=" + show(b[i]); };
  const auto va = load(a);
  const auto vb = load(b);
  const char* name = "multiply_int16_lanes";
  return first_failure(
      compare(name, dispatched_path(), store(qkern::simd::multiply_int16_lanes(va, vb)), expected, describe),
      compare(name, "generic", store(qkern::simd::detail::multiply_int16_lanes(va, vb, xsimd::generic{})), expected,
              describe));
}

template <class Source>
check_result load_widened_case(Source& src) {
  int8_window bytes{};
  for (auto& v : bytes) v = draw_narrow_value<std::int8_t>(src);
  return check_load_widened(bytes);
}

template <class Source>
check_result multiply_int16_case(Source& src) {
  const auto draw = [](Source& s) -> std::int32_t { return draw_narrow_value<std::int16_t>(s); };
  return check_multiply_int16_lanes(fill<std::int32_t>(src, draw), fill<std::int32_t>(src, draw));
}

}  // namespace

TEST_CASE("load_widened sign-extends consecutive int8 values into int32 lanes") {
  check_cases("load_widened", [](auto& src) { return load_widened_case(src); });
}

TEST_CASE("multiply_int16_lanes multiplies int16 values held in int32 lanes exactly") {
  check_cases("multiply_int16_lanes", [](auto& src) { return multiply_int16_case(src); });
}

TEST_CASE("edges: load_widened on every int8 value, multiply_int16_lanes on int16 edge pairs") {
  check_result result;
  for (int start = -128; start <= 127 && result.ok(); ++start) {
    int8_window bytes{};
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      bytes[i] = static_cast<std::int8_t>((start + static_cast<int>(i) + 128) % 256 - 128);
    }
    result = check_load_widened(bytes);
  }
  CHECK_MESSAGE(result.ok(), result.failure);

  const std::vector<std::int32_t> edges = {-32768, -32767, -256, -255, -129, -128, -127, -1, 0,
                                           1,      127,    128,  255,  256,  32766, 32767};
  std::vector<std::int32_t> a;
  std::vector<std::int32_t> b;
  for (const std::int32_t x : edges) {
    for (const std::int32_t y : edges) {
      a.push_back(x);
      b.push_back(y);
    }
  }
  check_result products;
  for (std::size_t start = 0; start < a.size() && products.ok(); start += lane_count<std::int32_t>) {
    lanes<std::int32_t> la{};
    lanes<std::int32_t> lb{};
    for (std::size_t i = 0; i < la.size(); ++i) {
      la[i] = a[(start + i) % a.size()];
      lb[i] = b[(start + i) % b.size()];
    }
    products = check_multiply_int16_lanes(la, lb);
  }
  CHECK_MESSAGE(products.ok(), products.failure);
}
