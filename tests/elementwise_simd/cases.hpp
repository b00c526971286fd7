// Random cases for the elementwise SIMD == scalar checks: shapes of every broadcast kind,
// quantization parameters, element data with extremes, and the comparison of two outputs.
// Every draw goes through a Source (runner.hpp), so the same cases run under rapidcheck and
// from a seed.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "qkern/kernels/elementwise.hpp"
#include "runner.hpp"

namespace qkern_ew_test {

using arch = qkern::simd::default_arch;

// Elements of the widest register the build has, for the sizes worth hitting: below, at and
// around one vector of 8-bit lanes.
inline constexpr std::int64_t byte_lanes = xsimd::batch<std::int8_t, arch>::size;

// --- shapes -----------------------------------------------------------------------------------

// The broadcast situations a case is built for (the plan classifies the result; a draw may
// well collapse into a simpler kind, e.g. an all-ones shape).
enum class layout { same, scalar, inner_vector, outer_vector, general_one_full, general_both_partial };

struct binary_shapes {
  qkern::shape first;
  qkern::shape second;
};

// Output element budget of one case.
inline constexpr std::int64_t max_case_elements = 3000;

// An extent: small and odd, around one and two vectors, or anything up to 150; rarely 0.
template <class Source>
std::int32_t draw_extent(Source& src, bool innermost) {
  switch (src.in_range(0, innermost ? 7 : 4)) {
    case 0: return 1;
    case 1:
    case 2: return static_cast<std::int32_t>(src.in_range(2, 9));
    case 3: return static_cast<std::int32_t>(src.in_range(1, 40));
    case 4: return src.in_range(0, 60) == 0 ? 0 : static_cast<std::int32_t>(src.in_range(10, 150));
    case 5: return static_cast<std::int32_t>(byte_lanes + src.in_range(-2, 2));
    case 6: return static_cast<std::int32_t>(2 * byte_lanes + src.in_range(-3, 3));
    default: return static_cast<std::int32_t>(src.in_range(1, 4 * byte_lanes + 7));
  }
}

template <class Source>
qkern::shape draw_output_shape(Source& src, int rank) {
  qkern::shape s;
  s.rank = rank;
  std::int64_t count = 1;
  for (int d = rank - 1; d >= 0; --d) {
    std::int32_t e = draw_extent(src, d == rank - 1);
    if (count * e > max_case_elements) e = static_cast<std::int32_t>(max_case_elements / count);  // >= 1
    s.dims[d] = e;
    count *= e > 0 ? e : 1;
  }
  return s;
}

// `full` keeps the extent, otherwise 1; then `drop` leading dimensions (only ones may go).
inline qkern::shape operand_shape(const qkern::shape& out, const bool* full, int drop) {
  qkern::shape s;
  s.rank = out.rank - drop;
  for (int d = 0; d < s.rank; ++d) s.dims[d] = full[d + drop] ? out.dims[d + drop] : 1;
  return s;
}

inline int leading_ones(const qkern::shape& out, const bool* full) {
  int n = 0;
  while (n < out.rank && (!full[n] || out.dims[n] == 1)) ++n;
  return n;
}

// Larger shapes, now and then: long rows, and short rows in numbers that fill several blocks
// of the SIMD drivers' tiling (inner vectors) and coalescing (other short rows).
inline binary_shapes large_shapes(int which) {
  const auto make = [](std::initializer_list<std::int64_t> dims) { return qkern::make_shape(dims).value(); };
  switch (which) {
    case 0: return {make({1, 37, 41, 24}), make({1, 1, 1, 24})};  // SE, short vector
    case 1: return {make({1, 23, 29, 67}), make({67})};             // SE, odd vector
    case 2: return {make({37, 41, 5}), make({37, 41, 1})};          // outer vector, short rows
    case 3: return {make({29, 1, 3, 13}), make({1, 31, 3, 13})};    // general, both partial
    case 4: return {make({9000}), make({1})};                       // scalar, long row
    default: return {make({3, 5000}), make({3, 5000})};             // same shape
  }
}

template <class Source>
binary_shapes draw_shapes(Source& src) {
  if (src.in_range(0, 29) == 0) {
    binary_shapes s = large_shapes(static_cast<int>(src.in_range(0, 5)));
    if (src.in_range(0, 1) == 1) std::swap(s.first, s.second);
    return s;
  }
  const auto kind = static_cast<layout>(src.in_range(0, 5));
  const int rank = static_cast<int>(src.in_range(0, qkern::max_rank));
  const qkern::shape out = draw_output_shape(src, rank);
  bool all[qkern::max_rank] = {true, true, true, true, true, true};
  bool small[qkern::max_rank] = {};
  bool other[qkern::max_rank] = {true, true, true, true, true, true};
  switch (kind) {
    case layout::same: break;
    case layout::scalar: break;  // small stays all ones
    case layout::inner_vector: {
      const int k = rank == 0 ? 0 : static_cast<int>(src.in_range(1, rank));
      for (int d = rank - k; d < rank; ++d) small[d] = true;
      break;
    }
    case layout::outer_vector: {
      const int k = rank == 0 ? 0 : static_cast<int>(src.in_range(1, rank));
      for (int d = 0; d < k; ++d) small[d] = true;
      break;
    }
    case layout::general_one_full:
      for (int d = 0; d < rank; ++d) small[d] = src.in_range(0, 1) == 1;
      break;
    case layout::general_both_partial:
      for (int d = 0; d < rank; ++d) {
        switch (src.in_range(0, 2)) {
          case 0: small[d] = true; other[d] = true; break;
          case 1: small[d] = true; other[d] = false; break;
          default: small[d] = false; other[d] = true; break;
        }
      }
      break;
  }
  const bool* big_full = kind == layout::general_both_partial ? other : all;
  const bool* small_full = kind == layout::same ? all : small;
  // Operands may have a lower rank than the output where only ones are dropped.
  const int drop_small = static_cast<int>(src.in_range(0, leading_ones(out, small_full)));
  const int drop_big = static_cast<int>(src.in_range(0, leading_ones(out, big_full)));
  binary_shapes s{operand_shape(out, big_full, drop_big), operand_shape(out, small_full, drop_small)};
  if (src.in_range(0, 1) == 1) std::swap(s.first, s.second);  // both operand orders
  return s;
}

inline std::string to_string(const qkern::shape& s) {
  std::string r = "[";
  for (int d = 0; d < s.rank; ++d) r += (d ? "," : "") + std::to_string(s.dims[d]);
  return r + "]";
}

// --- quantization -------------------------------------------------------------------------

// A positive float scale 2^e * (1 + m / 2^20), e in [lo, hi]; sometimes an exact power of two.
template <class Source>
float draw_scale(Source& src, int lo_exp, int hi_exp) {
  const int e = static_cast<int>(src.in_range(lo_exp, hi_exp));
  const double mantissa =
      src.in_range(0, 3) == 0 ? 1.0 : 1.0 + static_cast<double>(src.in_range(0, (1 << 20) - 1)) / (1 << 20);
  return static_cast<float>(std::ldexp(mantissa, e));
}

template <class T, class Source>
std::int32_t draw_zero_point(Source& src) {
  if (std::is_same<T, std::int16_t>::value) return 0;  // TFLite's int16 convention
  constexpr std::int32_t lo = std::numeric_limits<T>::min();
  constexpr std::int32_t hi = std::numeric_limits<T>::max();
  switch (src.in_range(0, 4)) {
    case 0: return lo;
    case 1: return hi;
    case 2: return 0;
    default: return static_cast<std::int32_t>(src.in_range(lo, hi));
  }
}

template <class Source>
qkern::fused_activation draw_activation(Source& src) {
  return static_cast<qkern::fused_activation>(src.in_range(0, 3));
}

inline std::string to_string(const qkern::quantization_params& q) {
  std::ostringstream os;
  os.precision(9);
  os << "{" << q.scale << ", " << q.zero_point << "}";
  return os.str();
}

// --- data ---------------------------------------------------------------------------------

// Element data expanded from a seed: uniform, all at one end of the range, alternating ends,
// or values near the zero point mixed with the ends.
template <class T>
std::vector<T> make_data(std::int64_t n, std::uint64_t seed, std::int32_t zero_point) {
  splitmix rng(seed);
  constexpr std::int64_t lo = std::numeric_limits<T>::min();
  constexpr std::int64_t hi = std::numeric_limits<T>::max();
  std::vector<T> v(static_cast<std::size_t>(n));
  const auto mode = rng.in_range(0, 9);
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::int64_t x = 0;
    switch (mode) {
      case 0: x = lo; break;
      case 1: x = hi; break;
      case 2: x = i % 2 == 0 ? lo : hi; break;
      case 3: {
        const std::int64_t picks[] = {lo, hi, zero_point, zero_point - 1, zero_point + 1, lo + 1, hi - 1};
        x = picks[rng.in_range(0, 6)];
        break;
      }
      case 4: x = zero_point + rng.in_range(-3, 3); break;
      default: x = rng.in_range(lo, hi); break;
    }
    v[i] = static_cast<T>(x < lo ? lo : (x > hi ? hi : x));
  }
  return v;
}

// --- comparing outputs --------------------------------------------------------------------

template <class T>
std::string value_text(T v) {
  if constexpr (std::is_same<T, float>::value) {
    std::uint32_t bits = 0;
    std::memcpy(&bits, &v, sizeof bits);
    std::ostringstream os;
    os.precision(9);
    os << v << " (0x" << std::hex << bits << ")";
    return os.str();
  } else {
    return std::to_string(static_cast<std::int64_t>(v));
  }
}

// Output storage with a guard zone after the n elements, to catch vector stores past the end.
template <class T>
struct guarded_output {
  static constexpr std::size_t guard = 80;
  std::size_t n;
  std::unique_ptr<T[]> data;
  explicit guarded_output(std::int64_t count) : n(static_cast<std::size_t>(count)), data(new T[n + guard]) {
    for (std::size_t i = 0; i < n + guard; ++i) data[i] = fill(i);
  }
  static T fill(std::size_t i) {
    if constexpr (std::is_same<T, bool>::value) {
      return i % 2 == 0;
    } else {
      return static_cast<T>(0x5A + static_cast<int>(i % 7));
    }
  }
  T* get() { return data.get(); }
  bool guard_intact() const {
    for (std::size_t i = n; i < n + guard; ++i) {
      const T expected = fill(i);
      if (std::memcmp(&data[i], &expected, sizeof(T)) != 0) return false;
    }
    return true;
  }
};

// The first element where the two outputs differ bitwise ("" if none), plus the guard check.
template <class T>
std::string compare_outputs(const guarded_output<T>& expected, const guarded_output<T>& got) {
  if (!got.guard_intact()) return "SIMD path wrote past the end of the output";
  for (std::size_t i = 0; i < expected.n; ++i) {
    if (std::memcmp(&expected.data[i], &got.data[i], sizeof(T)) != 0) {
      return "output[" + std::to_string(i) + "] of " + std::to_string(expected.n) + ": scalar " +
             value_text(expected.data[i]) + ", simd " + value_text(got.data[i]);
    }
  }
  return {};
}

inline std::string plan_text(const qkern::broadcast_plan& plan) {
  std::string r = qkern::broadcast_kind_name(plan.kind);
  r += plan.operand == qkern::broadcast_operand::first    ? " (first)"
       : plan.operand == qkern::broadcast_operand::second ? " (second)"
                                                          : "";
  return r;
}

// Runs the scalar and the SIMD eval of a binary op on random data and describes a difference.
// `scalar_eval` / `simd_eval` take (params, in1, in2, out).
template <class In, class Out, class Params, class ScalarEval, class SimdEval, class Source>
std::string run_binary_case(Source& src, const Params& p, const binary_shapes& shapes,
                            std::int32_t zero_point1, std::int32_t zero_point2, const std::string& what,
                            ScalarEval scalar_eval, SimdEval simd_eval) {
  const std::uint64_t seed = src.data_seed();
  const std::vector<In> a = make_data<In>(shapes.first.element_count(), seed, zero_point1);
  const std::vector<In> b = make_data<In>(shapes.second.element_count(), seed ^ 0x5555u, zero_point2);
  const std::int64_t n = p.broadcast.output_count;
  guarded_output<Out> expected(n);
  guarded_output<Out> got(n);
  scalar_eval(p, a.data(), b.data(), expected.get());
  simd_eval(p, a.data(), b.data(), got.get());
  const std::string diff = compare_outputs(expected, got);
  if (diff.empty()) return {};
  return what + ", shapes " + to_string(shapes.first) + " x " + to_string(shapes.second) + " (" +
         plan_text(p.broadcast) + "), data seed " + std::to_string(seed) + ": " + diff;
}

}  // namespace qkern_ew_test
