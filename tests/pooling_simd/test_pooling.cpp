// max_pool2d and average_pool2d: the SIMD path (simd::<op><arch>) and the public eval against
// the scalar reference, on seeded random NHWC shapes: odd channel counts (the partial-lane
// remainder), windows larger than the input (SAME), SAME and VALID, strides 1-3, every fused
// activation, random and extreme values; plus the large windows of the int32 / scalar paths.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "cases.hpp"
#include "qkern/kernels/pooling.hpp"

using namespace qkern_pool_test;

namespace {

enum class pool { max, average };

struct pool_case {
  qkern::shape input;
  qkern::pool2d_window window;
  qkern::fused_activation activation = qkern::fused_activation::none;
};

pool_case random_case(seeded_source& s, std::int64_t max_side, std::int64_t max_filter) {
  pool_case c;
  const std::int64_t channels = s.next() % 4 == 0 ? s.in_range(1, 8) : s.in_range(1, 150);
  c.input = qkern::make_shape({s.in_range(1, 2), s.in_range(1, max_side), s.in_range(1, max_side), channels}).value();
  c.window.filter_height = static_cast<std::int32_t>(s.in_range(1, max_filter));
  c.window.filter_width = static_cast<std::int32_t>(s.in_range(1, max_filter));
  c.window.stride_height = static_cast<std::int32_t>(s.in_range(1, 3));
  c.window.stride_width = static_cast<std::int32_t>(s.in_range(1, 3));
  const bool fits = c.window.filter_height <= c.input[1] && c.window.filter_width <= c.input[2];
  c.window.padding = fits && s.next() % 2 == 0 ? qkern::pool_padding::valid : qkern::pool_padding::same;
  c.activation = random_activation(s);
  return c;
}

template <class T>
void check_pool(pool op, const pool_case& c, seeded_source& s) {
  const auto q = random_quantization<T>(s);
  const auto p = op == pool::max ? qkern::prepare_max_pool2d<T>(q, c.input, q, c.window, c.activation)
                                 : qkern::prepare_average_pool2d<T>(q, c.input, q, c.window, c.activation);
  REQUIRE(p.ok());
  const auto input = random_values<T>(s, c.input.element_count());
  const auto count = static_cast<std::size_t>(p->output.element_count());
  std::vector<T> expected(count), vector_path(count), public_eval(count);
  if (op == pool::max) {
    qkern::scalar::max_pool2d(*p, input.data(), expected.data());
    qkern::simd::max_pool2d<arch>(*p, input.data(), vector_path.data());
    qkern::max_pool2d(*p, input.data(), public_eval.data());
  } else {
    qkern::scalar::average_pool2d(*p, input.data(), expected.data());
    qkern::simd::average_pool2d<arch>(*p, input.data(), vector_path.data());
    qkern::average_pool2d(*p, input.data(), public_eval.data());
  }
  const std::int64_t at = first_difference(vector_path, expected);
  INFO((op == pool::max ? "max" : "average") << " pool " << sizeof(T) * 8 << "-bit, input " << text(c.input)
                                              << ", filter " << c.window.filter_height << "x" << c.window.filter_width
                                              << ", stride " << c.window.stride_height << "x" << c.window.stride_width
                                              << (c.window.padding == qkern::pool_padding::same ? " SAME" : " VALID")
                                              << ", activation " << static_cast<int>(c.activation) << ", zp "
                                              << q.zero_point << ", first difference at " << at);
  CHECK(at == -1);
  CHECK(public_eval == expected);
}

template <class T>
void random_pools(pool op, std::uint64_t seed, std::int64_t max_side, std::int64_t max_filter, int cases) {
  seeded_source s(seed);
  for (int i = 0; i < cases; ++i) check_pool<T>(op, random_case(s, max_side, max_filter), s);
}

}  // namespace

TEST_CASE("max_pool2d int8: SIMD == scalar") { random_pools<std::int8_t>(pool::max, 11, 12, 6, case_count); }
TEST_CASE("max_pool2d int16: SIMD == scalar") { random_pools<std::int16_t>(pool::max, 12, 12, 6, case_count); }
TEST_CASE("average_pool2d int8: SIMD == scalar") { random_pools<std::int8_t>(pool::average, 13, 12, 6, case_count); }
TEST_CASE("average_pool2d int16: SIMD == scalar") { random_pools<std::int16_t>(pool::average, 14, 12, 6, case_count); }

TEST_CASE("average_pool2d: windows past 256 taps (int8 int32 path) and past 63 (int16 scalar path)") {
  seeded_source s(15);
  for (int i = 0; i < case_count / 8; ++i) {
    check_pool<std::int8_t>(pool::average, random_case(s, 40, 30), s);
    check_pool<std::int16_t>(pool::average, random_case(s, 24, 12), s);
  }
}

TEST_CASE("pools at the workload shapes: 3x3/2 and 2x2/2 on 1x56x56x64, extremes") {
  seeded_source s(16);
  const auto input = qkern::make_shape({1, 56, 56, 64}).value();
  for (int i = 0; i < 4; ++i) {
    check_pool<std::int8_t>(pool::max, {input, {3, 3, 2, 2, qkern::pool_padding::same}, random_activation(s)}, s);
    check_pool<std::int8_t>(pool::average, {input, {2, 2, 2, 2, qkern::pool_padding::valid}, random_activation(s)}, s);
    check_pool<std::int8_t>(pool::average, {input, {3, 3, 1, 1, qkern::pool_padding::same}, random_activation(s)}, s);
    check_pool<std::int16_t>(pool::average, {input, {3, 3, 2, 2, qkern::pool_padding::same}, random_activation(s)}, s);
  }
  // One window covering a whole 16x16 image: 256 taps, every int8 sum at its extremes.
  const auto square = qkern::make_shape({1, 16, 16, 67}).value();
  for (int i = 0; i < 16; ++i) {
    check_pool<std::int8_t>(pool::average, {square, {16, 16, 1, 1, qkern::pool_padding::valid}, random_activation(s)}, s);
    check_pool<std::int8_t>(pool::average, {square, {17, 17, 1, 1, qkern::pool_padding::same}, random_activation(s)}, s);
  }
}
