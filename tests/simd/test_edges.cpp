// Deterministic sweeps beside the random cases: every shift and exponent against the int32
// extremes, powers of two and their neighbours, saturation boundaries and constructed rounding
// ties; the conversions exhaustively where the input type is small.
#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "lane_checks.hpp"
#include "lane_values.hpp"

namespace {

using namespace qkern_simd_test;

// check(lanes) on consecutive batches of values (the last one wraps around to the start).
template <class T, class Check>
check_result over_batches(const std::vector<T>& values, Check check) {
  for (std::size_t start = 0; start < values.size(); start += lane_count<T>) {
    lanes<T> batch_values{};
    for (std::size_t i = 0; i < batch_values.size(); ++i) batch_values[i] = values[(start + i) % values.size()];
    const check_result result = check(batch_values);
    if (!result.ok()) return result;
  }
  return {};
}

template <class T>
std::vector<T> every_value() {
  std::vector<T> values;
  for (std::int64_t v = std::numeric_limits<T>::min(); v <= std::numeric_limits<T>::max(); ++v) {
    values.push_back(static_cast<T>(v));
  }
  return values;
}

std::vector<std::int32_t> range(std::int32_t lo, std::int32_t hi) {
  std::vector<std::int32_t> values;
  for (std::int64_t v = lo; v <= hi; ++v) values.push_back(static_cast<std::int32_t>(v));
  return values;
}

void append(std::vector<std::int32_t>& values, std::int64_t v) {
  if (v >= int32_min && v <= int32_max) values.push_back(static_cast<std::int32_t>(v));
}

// Odd multiples of 2^k: small ones and the largest that fit, both signs.
void append_odd_multiples(std::vector<std::int32_t>& values, int k) {
  if (k < 0 || k > 30) return;
  const std::int64_t largest_odd = (std::int64_t{1} << (31 - k)) - 1;
  for (const std::int64_t odd : {std::int64_t{1}, std::int64_t{3}, std::int64_t{5}, largest_odd - 2, largest_odd}) {
    append(values, odd * (std::int64_t{1} << k));
    append(values, -odd * (std::int64_t{1} << k));
  }
}

// x values for which x * m is a tie at `bit` (x * m = 2^bit mod 2^(bit + 1)).
void append_ties(std::vector<std::int32_t>& values, std::int32_t m, int bit) {
  if (m != 0) append_odd_multiples(values, bit - trailing_zeros(m));
}

std::vector<std::int32_t> divide_inputs(int exponent) {
  std::vector<std::int32_t> values = int32_edges();
  if (exponent > 0) {
    const std::int64_t half = std::int64_t{1} << (exponent - 1);
    for (std::int64_t k = -4; k <= 4; ++k) {
      for (std::int64_t d = -1; d <= 1; ++d) append(values, k * 2 * half + half + d);
    }
    for (std::int64_t d = -1; d <= 1; ++d) {
      append(values, int32_min + half + d);
      append(values, int32_max - half + d);
    }
  }
  return values;
}

template <class Policy>
std::vector<std::int32_t> accumulator_inputs(qkern::quantized_multiplier m) {
  const int left = m.shift > 0 ? m.shift : 0;
  const int right = m.shift > 0 ? 0 : -m.shift;
  std::vector<std::int32_t> values = int32_edges();
  const std::int64_t in_contract = int32_max >> (left < 31 ? left : 31);
  for (std::int64_t d = -1; d <= 1; ++d) {
    append(values, in_contract + d);
    append(values, -in_contract - 1 + d);
  }
  if (std::is_same<Policy, qkern::single_rounding>::value) {
    append_ties(values, m.multiplier, 30 - m.shift);
  } else {
    append_ties(values, m.multiplier, 30 - left);
    if (right > 0) {
      std::vector<std::int32_t> second_stage_ties;
      append_odd_multiples(second_stage_ties, right - 1);
      for (const std::int32_t y : second_stage_ties) {
        std::int32_t x = 0;
        if (solve_high_mul(m.multiplier, y, x)) values.push_back(x);
      }
    }
  }
  return values;
}

}  // namespace

TEST_CASE("edges: saturating_rounding_doubling_high_mul on every pair of int32 edges and on ties") {
  const std::vector<std::int32_t> edges = int32_edges();
  std::vector<std::int32_t> a;
  std::vector<std::int32_t> b;
  for (const std::int32_t x : edges) {
    for (const std::int32_t y : edges) {
      a.push_back(x);
      b.push_back(y);
    }
  }
  for (int k = 0; k <= 30; ++k) {  // (odd * 2^k) * (odd * 2^(30-k)) = 2^30 mod 2^31
    std::vector<std::int32_t> left;
    std::vector<std::int32_t> right;
    append_odd_multiples(left, k);
    append_odd_multiples(right, 30 - k);
    for (const std::int32_t x : left) {
      for (const std::int32_t y : right) {
        a.push_back(x);
        b.push_back(y);
      }
    }
  }
  check_result result;
  for (std::size_t start = 0; start < a.size() && result.ok(); start += lane_count<std::int32_t>) {
    lanes<std::int32_t> la{};
    lanes<std::int32_t> lb{};
    for (std::size_t i = 0; i < la.size(); ++i) {
      la[i] = a[(start + i) % a.size()];
      lb[i] = b[(start + i) % b.size()];
    }
    result = check_srdhm(la, lb);
  }
  CHECK_MESSAGE(result.ok(), result.failure);
}

TEST_CASE("edges: rounding_divide_by_pot, every exponent 0..31") {
  for (int exponent = 0; exponent <= 31; ++exponent) {
    const check_result result = over_batches(
        divide_inputs(exponent), [&](const lanes<std::int32_t>& x) { return check_rounding_divide_by_pot(x, exponent); });
    CHECK_MESSAGE(result.ok(), result.failure);
  }
}

TEST_CASE("edges: saturating_left_shift, every exponent 0..40") {
  for (int exponent = 0; exponent <= 40; ++exponent) {
    const check_result result = over_batches(
        int32_edges(), [&](const lanes<std::int32_t>& x) { return check_saturating_left_shift(x, exponent); });
    CHECK_MESSAGE(result.ok(), result.failure);
  }
}

TEST_CASE_TEMPLATE("edges: multiply<Policy>, every shift -31..30 and edge multiplier", Policy, qkern::double_rounding,
                   qkern::single_rounding) {
  for (int shift = -31; shift <= 30; ++shift) {
    check_result result;
    for (const std::int32_t multiplier : multiplier_edges()) {
      const qkern::quantized_multiplier m{multiplier, shift};
      result = over_batches(accumulator_inputs<Policy>(m),
                            [&](const lanes<std::int32_t>& x) { return check_multiply<Policy>(x, m); });
      if (!result.ok()) break;
    }
    CHECK_MESSAGE(result.ok(), result.failure);
  }
}

TEST_CASE_TEMPLATE("edges: multiply_smaller_than_one_exp<Policy>, every shift -31..0 and edge multiplier", Policy,
                   qkern::double_rounding, qkern::single_rounding) {
  for (int shift = -31; shift <= 0; ++shift) {
    check_result result;
    for (const std::int32_t multiplier : multiplier_edges()) {
      const qkern::quantized_multiplier m{multiplier, shift};
      result = over_batches(accumulator_inputs<Policy>(m), [&](const lanes<std::int32_t>& x) {
        return check_multiply_smaller_than_one_exp<Policy>(x, m);
      });
      if (!result.ok()) break;
    }
    CHECK_MESSAGE(result.ok(), result.failure);
  }
}

TEST_CASE("edges: widening, every int8, uint8 and int16 value") {
  const check_result int8 = over_batches(every_value<std::int8_t>(), check_widen<std::int8_t>);
  CHECK_MESSAGE(int8.ok(), int8.failure);
  const check_result uint8 = over_batches(every_value<std::uint8_t>(), check_widen<std::uint8_t>);
  CHECK_MESSAGE(uint8.ok(), uint8.failure);
  const check_result int16 = over_batches(every_value<std::int16_t>(), check_widen<std::int16_t>);
  CHECK_MESSAGE(int16.ok(), int16.failure);
}

TEST_CASE("edges: narrowing, every int16 value and int32 values around the 8- and 16-bit limits") {
  const auto narrow_all = [](auto to, auto from, auto parts, const auto& values) {
    using To = decltype(to);
    using From = decltype(from);
    std::vector<From> wide(values.begin(), values.end());
    for (std::size_t start = 0; start < wide.size(); start += lane_count<To>) {
      std::array<From, lane_count<To>> flat{};
      for (std::size_t i = 0; i < flat.size(); ++i) flat[i] = wide[(start + i) % wide.size()];
      const check_result result = check_narrow<To, From, decltype(parts)::value>(flat);
      if (!result.ok()) return result;
    }
    return check_result{};
  };
  using two = std::integral_constant<std::size_t, 2>;
  using four = std::integral_constant<std::size_t, 4>;
  const std::vector<std::int16_t> all_int16 = every_value<std::int16_t>();
  std::vector<std::int32_t> around_limits = int32_edges();
  for (const std::int32_t v : range(-70000, 70000)) around_limits.push_back(v);

  const check_result to_int8 = narrow_all(std::int8_t{}, std::int16_t{}, two{}, all_int16);
  CHECK_MESSAGE(to_int8.ok(), to_int8.failure);
  const check_result to_uint8 = narrow_all(std::uint8_t{}, std::int16_t{}, two{}, all_int16);
  CHECK_MESSAGE(to_uint8.ok(), to_uint8.failure);
  const check_result to_int16 = narrow_all(std::int16_t{}, std::int32_t{}, two{}, around_limits);
  CHECK_MESSAGE(to_int16.ok(), to_int16.failure);
  const check_result int32_to_int8 = narrow_all(std::int8_t{}, std::int32_t{}, four{}, around_limits);
  CHECK_MESSAGE(int32_to_int8.ok(), int32_to_int8.failure);
  const check_result int32_to_uint8 = narrow_all(std::uint8_t{}, std::int32_t{}, four{}, around_limits);
  CHECK_MESSAGE(int32_to_uint8.ok(), int32_to_uint8.failure);
}
