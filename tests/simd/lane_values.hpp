// What the simd tests feed each lane: the int32 extremes, powers of two and their neighbours,
// rounding ties built for the primitive and the multiplier at hand, and plain random values.
//
// The distributions are written once against a Source, so the rapidcheck programs (source:
// shrinkable generators) and the doctest-only seeded programs (source: a small PRNG, for
// cross builds) draw the same kinds of values. A Source has
//   std::int64_t in_range(std::int64_t lo, std::int64_t hi);   // inclusive
//   std::int32_t any_int32();                                  // the whole range, extremes weighted in
//   std::int32_t q31_multiplier();                             // 0 or [2^30, 2^31), as quantize makes them
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "qkern/core/fixed_point.hpp"
#include "qkern/core/multiplier.hpp"
#include "qkern/core/rounding.hpp"
#include "lane_checks.hpp"

namespace qkern_simd_test {

constexpr std::int32_t int32_min = std::numeric_limits<std::int32_t>::min();
constexpr std::int32_t int32_max = std::numeric_limits<std::int32_t>::max();

// -2^k + d and 2^k + d for k in [0, 31], d in {-1, 0, 1}, wrapped into int32: covers 0, +-1,
// INT32_MIN, INT32_MAX, INT32_MIN + 1 and every power of two's neighbourhood.
inline std::vector<std::int32_t> int32_edges() {
  std::vector<std::int32_t> values;
  for (int k = 0; k < 32; ++k) {
    for (int d = -1; d <= 1; ++d) {
      values.push_back(static_cast<std::int32_t>(static_cast<std::uint32_t>((std::int64_t{1} << k) + d)));
      values.push_back(static_cast<std::int32_t>(static_cast<std::uint32_t>(-(std::int64_t{1} << k) + d)));
    }
  }
  values.push_back(int32_max);
  values.push_back(int32_max - 1);
  return values;
}

// Multipliers: the in-contract ones (0 and [2^30, 2^31)) at their ends, a typical one, and
// out-of-contract ones (negative, small, INT32_MIN) which the vector code must match too.
inline std::vector<std::int32_t> multiplier_edges() {
  return {0, 1 << 30, (1 << 30) + 1, 1518500250, 1908874354, int32_max - 1, int32_max,
          1, 12345, -1, -(1 << 30), int32_min + 1, int32_min};
}

template <class Source, class T>
T pick(Source& src, const std::vector<T>& values) {
  return values[static_cast<std::size_t>(src.in_range(0, static_cast<std::int64_t>(values.size()) - 1))];
}

template <class Source>
std::int32_t draw_int32(Source& src) {
  static const std::vector<std::int32_t> edges = int32_edges();
  return src.in_range(0, 3) == 0 ? pick(src, edges) : src.any_int32();
}

template <class Source>
std::int32_t draw_multiplier(Source& src) {
  static const std::vector<std::int32_t> edges = multiplier_edges();
  switch (src.in_range(0, 7)) {
    case 0: return pick(src, edges);
    case 1: return src.in_range(0, 1) == 0 ? src.any_int32() : pick(src, std::vector<std::int32_t>{int32_min, int32_max});
    case 2: {  // in contract with at least j trailing zeros, so that more products can tie
      const int j = static_cast<int>(src.in_range(0, 30));
      return static_cast<std::int32_t>((std::int64_t{1} << 30) + (src.in_range(0, (std::int64_t{1} << (30 - j)) - 1) << j));
    }
    default: return src.q31_multiplier();
  }
}

// v * 2^k for an odd v that keeps the product in int32 (k in [0, 30]).
template <class Source>
std::int32_t odd_times_pot(Source& src, int k) {
  const std::int64_t half_range = std::int64_t{1} << (30 - k);
  const std::int64_t odd = 2 * src.in_range(-half_range, half_range - 1) + 1;
  return static_cast<std::int32_t>(odd * (std::int64_t{1} << k));
}

// Number of trailing zero bits of m (m != 0).
inline int trailing_zeros(std::int32_t m) {
  auto u = static_cast<std::uint32_t>(m);
  int n = 0;
  while ((u & 1u) == 0) {
    u >>= 1;
    ++n;
  }
  return n;
}

// An x with x * m == 2^(bit) modulo 2^(bit + 1): a product exactly halfway between two
// multiples of 2^(bit + 1). Falls back to any x when m's factors of two make it impossible.
template <class Source>
std::int32_t tie_factor(Source& src, std::int32_t m, int bit) {
  if (m == 0) return draw_int32(src);
  const int k = bit - trailing_zeros(m);
  if (k < 0 || k > 30) return draw_int32(src);
  return odd_times_pot(src, k);
}

// Pairs for the doubling high multiply: ties (a*b = 2^30 mod 2^31), the INT32_MIN corner,
// and independent values.
template <class Source>
std::pair<std::int32_t, std::int32_t> draw_high_mul_pair(Source& src) {
  switch (src.in_range(0, 7)) {
    case 0:
    case 1: {
      const int k = static_cast<int>(src.in_range(0, 30));
      return {odd_times_pot(src, k), odd_times_pot(src, 30 - k)};
    }
    case 2: return {int32_min, src.in_range(0, 1) == 0 ? int32_min : draw_int32(src)};
    default: return {draw_int32(src), draw_int32(src)};
  }
}

// Inputs for rounding_divide_by_pot(x, exponent): ties (x = 2^(e-1) mod 2^e) of both signs,
// their neighbours, and any value.
template <class Source>
std::int32_t draw_divide_input(Source& src, int exponent) {
  if (exponent == 0 || src.in_range(0, 2) != 0) return draw_int32(src);
  const std::int64_t tie = odd_times_pot(src, exponent - 1);
  return static_cast<std::int32_t>(tie + src.in_range(-1, 1) * (tie > int32_min && tie < int32_max ? 1 : 0));
}

// An x whose doubling high multiply by m is y, if there is one near y * 2^31 / m.
inline bool solve_high_mul(std::int32_t m, std::int32_t y, std::int32_t& x) {
  if (m == 0) return false;
  const std::int64_t guess = static_cast<std::int64_t>(y) * (std::int64_t{1} << 31) / m;
  for (std::int64_t candidate = guess - 2; candidate <= guess + 2; ++candidate) {
    if (candidate < int32_min || candidate > int32_max) continue;
    if (qkern::saturating_rounding_doubling_high_mul(static_cast<std::int32_t>(candidate), m) == y) {
      x = static_cast<std::int32_t>(candidate);
      return true;
    }
  }
  return false;
}

// Accumulators for Policy::multiply(x, m): both policies' rounding ties, the edges of the
// left shift's saturation, TFLite's in-contract range, and any value.
template <class Policy, class Source>
std::int32_t draw_accumulator(Source& src, qkern::quantized_multiplier m) {
  const int left = m.shift > 0 ? m.shift : 0;
  const int right = m.shift > 0 ? 0 : -m.shift;
  const std::int32_t in_contract = int32_max >> (left < 31 ? left : 31);
  switch (src.in_range(0, 9)) {
    case 0:
    case 1:
      if (std::is_same<Policy, qkern::single_rounding>::value) {
        return tie_factor(src, m.multiplier, 30 - m.shift);  // x*m = 2^(30-shift) mod 2^(31-shift)
      } else {
        return tie_factor(src, m.multiplier, 30 - left);  // first rounding: (x*2^left)*m = 2^30 mod 2^31
      }
    case 2: {
      // double rounding's second tie: the high multiply lands on y = 2^(right-1) mod 2^right
      std::int32_t x = 0;
      if (right > 0 && solve_high_mul(m.multiplier, odd_times_pot(src, right - 1), x)) return x;
      return draw_int32(src);
    }
    case 3: {  // where the left shift starts to saturate
      const std::int64_t edge = src.in_range(0, 1) == 0 ? in_contract : -std::int64_t{in_contract} - 1;
      return qkern::saturating_cast<std::int32_t>(edge + src.in_range(-1, 1));
    }
    case 4: return src.in_range(0, 1) == 0 ? int32_min : int32_max;
    case 5: return static_cast<std::int32_t>(src.in_range(-std::int64_t{in_contract} - 1, in_contract));
    default: return draw_int32(src);
  }
}

// Wide values around the limits of a narrow type: each limit and its neighbours, the other
// narrow types' limits, and any value of the wide type.
template <class Narrow, class Wide, class Source>
Wide draw_narrowing_input(Source& src) {
  using lim = std::numeric_limits<Narrow>;
  using wide_lim = std::numeric_limits<Wide>;
  switch (src.in_range(0, 3)) {
    case 0: return static_cast<Wide>(lim::min() + src.in_range(-2, 2));
    case 1: return static_cast<Wide>(lim::max() + src.in_range(-2, 2));
    case 2: {
      const std::int64_t limits[] = {-32769, -32768, -129, -128, -1, 0, 1, 127, 128, 255, 256, 32767, 32768,
                                     wide_lim::min(), wide_lim::max()};
      const std::int64_t v = limits[src.in_range(0, 14)];
      return static_cast<Wide>(v < wide_lim::min() || v > wide_lim::max() ? 0 : v);
    }
    default: return static_cast<Wide>(src.in_range(wide_lim::min(), wide_lim::max()));
  }
}

template <class T, class Source>
T draw_narrow_value(Source& src) {
  using lim = std::numeric_limits<T>;
  if (src.in_range(0, 3) == 0) {
    const std::int64_t ends[] = {lim::min(), lim::min() + 1, -1, 0, 1, lim::max() - 1, lim::max()};
    const std::int64_t v = ends[src.in_range(0, 6)];
    return static_cast<T>(v < lim::min() ? 0 : v);
  }
  return static_cast<T>(src.in_range(lim::min(), lim::max()));
}

template <class T, class Source, class Draw>
lanes<T> fill(Source& src, Draw draw) {
  lanes<T> out{};
  for (auto& v : out) v = draw(src);
  return out;
}

}  // namespace qkern_simd_test
