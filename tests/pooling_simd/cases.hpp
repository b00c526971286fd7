// Shared pieces of the pooling / activation / layout SIMD tests: the arch under test, a seeded
// source (tests/simd/seeded_source.hpp: the same values on every arch and run) and value
// generators that favour the extremes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "qkern/core/activation.hpp"
#include "qkern/core/quantization.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/simd/arch.hpp"
#include "simd/seeded_source.hpp"

namespace qkern_pool_test {

using arch = qkern::simd::default_arch;
using qkern_simd_test::seeded_source;

// How many random cases each randomised test runs (QKERN_POOLING_TEST_CASES overrides).
#ifndef QKERN_POOLING_TEST_CASES
#define QKERN_POOLING_TEST_CASES 400
#endif
inline constexpr int case_count = QKERN_POOLING_TEST_CASES;

template <class T>
T any_value(seeded_source& s) {
  constexpr std::int64_t lo = std::numeric_limits<T>::min();
  constexpr std::int64_t hi = std::numeric_limits<T>::max();
  switch (s.next() % 8) {
    case 0: return static_cast<T>(lo);
    case 1: return static_cast<T>(hi);
    case 2: return static_cast<T>(s.in_range(lo, lo + 3));
    case 3: return static_cast<T>(s.in_range(hi - 3, hi));
    default: return static_cast<T>(s.in_range(lo, hi));
  }
}

// Random values, or (one case in four) a buffer of a single extreme, or alternating extremes:
// the sums and maxima at the ends of their ranges.
template <class T>
std::vector<T> random_values(seeded_source& s, std::int64_t count) {
  std::vector<T> v(static_cast<std::size_t>(count));
  const std::uint64_t mode = s.next() % 8;
  for (std::size_t i = 0; i < v.size(); ++i) {
    switch (mode) {
      case 0: v[i] = std::numeric_limits<T>::min(); break;
      case 1: v[i] = std::numeric_limits<T>::max(); break;
      case 2: v[i] = i % 2 == 0 ? std::numeric_limits<T>::min() : std::numeric_limits<T>::max(); break;
      default: v[i] = any_value<T>(s); break;
    }
  }
  return v;
}

template <class T>
qkern::quantization_params random_quantization(seeded_source& s) {
  const float scale = static_cast<float>(s.in_range(1, 4000)) / 1024.0f;
  if (sizeof(T) == 2 && s.next() % 2 == 0) return {scale, 0};
  return {scale, static_cast<std::int32_t>(s.in_range(std::numeric_limits<T>::min(), std::numeric_limits<T>::max()))};
}

inline qkern::fused_activation random_activation(seeded_source& s) {
  return static_cast<qkern::fused_activation>(s.next() % 4);
}

inline std::string text(const qkern::shape& sh) {
  std::ostringstream o;
  o << "[";
  for (int d = 0; d < sh.rank; ++d) o << (d ? "," : "") << sh.dims[d];
  o << "]";
  return o.str();
}

// Index of the first difference, or -1.
template <class T>
std::int64_t first_difference(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return static_cast<std::int64_t>(i);
  }
  return -1;
}

}  // namespace qkern_pool_test
