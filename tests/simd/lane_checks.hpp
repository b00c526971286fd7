// Lane-by-lane checks of every simd primitive against the scalar core. Each check runs the
// primitive twice, through the dispatched path (the arch's own overload where there is one)
// and through the generic overload, and reports the first lane where either differs from
// the scalar answer. Test programs feed the lanes from rapidcheck or from a seeded PRNG.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <type_traits>

#include "qkern/core/fixed_point.hpp"
#include "qkern/core/multiplier.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/simd/simd.hpp"

namespace qkern_simd_test {

using arch = qkern::simd::default_arch;

template <class T>
using batch = xsimd::batch<T, arch>;
template <class T>
constexpr std::size_t lane_count = batch<T>::size;
template <class T>
using lanes = std::array<T, lane_count<T>>;

template <class T>
batch<T> load(const lanes<T>& v) {
  return batch<T>::load_unaligned(v.data());
}

template <class T>
lanes<T> store(const batch<T>& b) {
  lanes<T> out{};
  b.store_unaligned(out.data());
  return out;
}

// Empty when the check passed; otherwise the first mismatch, with its inputs.
struct check_result {
  std::string failure;
  bool ok() const { return failure.empty(); }
};

inline const char* dispatched_path() { return qkern::simd::backend_name(qkern::simd::backend_of<arch>()); }

// Compares got with expected lane by lane; describe(i) names the inputs of lane i.
template <class T, std::size_t N, class Describe>
check_result compare(const std::string& primitive, const char* path, const std::array<T, N>& got,
                     const std::array<T, N>& expected, Describe describe) {
  for (std::size_t i = 0; i < N; ++i) {
    if (got[i] != expected[i]) {
      std::ostringstream os;
      os << primitive << " [" << path << " path, " << qkern::simd::arch_name<arch>() << "] lane " << i << ": "
         << describe(i) << " -> vector " << +got[i] << ", scalar " << +expected[i];
      return {os.str()};
    }
  }
  return {};
}

inline check_result first_failure(check_result a, check_result b) { return a.ok() ? b : a; }

template <class T>
std::string show(T v) {
  return std::to_string(+v);
}

// --- fixed point -----------------------------------------------------------------------------

inline check_result check_srdhm(const lanes<std::int32_t>& a, const lanes<std::int32_t>& b) {
  lanes<std::int32_t> expected{};
  for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = qkern::saturating_rounding_doubling_high_mul(a[i], b[i]);
  const auto describe = [&](std::size_t i) { return "a=" + show(a[i]) + " b=" + show(b[i]); };
  const auto va = load(a);
  const auto vb = load(b);
  const char* name = "saturating_rounding_doubling_high_mul";
  return first_failure(
      compare(name, dispatched_path(), store(qkern::simd::saturating_rounding_doubling_high_mul(va, vb)), expected,
              describe),
      compare(name, "generic",
              store(qkern::simd::detail::saturating_rounding_doubling_high_mul(va, vb, xsimd::generic{})), expected,
              describe));
}

inline check_result check_rounding_divide_by_pot(const lanes<std::int32_t>& x, int exponent) {
  lanes<std::int32_t> expected{};
  for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = qkern::rounding_divide_by_pot(x[i], exponent);
  const auto describe = [&](std::size_t i) { return "x=" + show(x[i]) + " exponent=" + show(exponent); };
  const auto vx = load(x);
  const char* name = "rounding_divide_by_pot";
  return first_failure(
      compare(name, dispatched_path(), store(qkern::simd::rounding_divide_by_pot(vx, exponent)), expected, describe),
      compare(name, "generic", store(qkern::simd::detail::rounding_divide_by_pot(vx, exponent, xsimd::generic{})),
              expected, describe));
}

inline check_result check_saturating_left_shift(const lanes<std::int32_t>& x, int exponent) {
  lanes<std::int32_t> expected{};
  for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = qkern::saturating_left_shift(x[i], exponent);
  const auto describe = [&](std::size_t i) { return "x=" + show(x[i]) + " exponent=" + show(exponent); };
  const auto vx = load(x);
  const char* name = "saturating_left_shift";
  return first_failure(
      compare(name, dispatched_path(), store(qkern::simd::saturating_left_shift(vx, exponent)), expected, describe),
      compare(name, "generic", store(qkern::simd::detail::saturating_left_shift(vx, exponent, xsimd::generic{})),
              expected, describe));
}

template <class Policy>
check_result check_multiply(const lanes<std::int32_t>& x, qkern::quantized_multiplier m) {
  lanes<std::int32_t> expected{};
  for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = Policy::multiply(x[i], m);
  const auto describe = [&](std::size_t i) {
    return "x=" + show(x[i]) + " multiplier=" + show(m.multiplier) + " shift=" + show(m.shift);
  };
  const auto vx = load(x);
  const std::string name = std::string("multiply<") + Policy::name + "_rounding>";
  return first_failure(
      compare(name, dispatched_path(), store(qkern::simd::multiply<Policy>(vx, m)), expected, describe),
      compare(name, "generic", store(qkern::simd::detail::multiply(vx, m, Policy{}, xsimd::generic{})), expected,
              describe));
}

template <class Policy>
check_result check_multiply_smaller_than_one_exp(const lanes<std::int32_t>& x, qkern::quantized_multiplier m) {
  lanes<std::int32_t> expected{};
  for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = Policy::multiply_smaller_than_one_exp(x[i], m);
  const auto describe = [&](std::size_t i) {
    return "x=" + show(x[i]) + " multiplier=" + show(m.multiplier) + " shift=" + show(m.shift);
  };
  const auto vx = load(x);
  const std::string name = std::string("multiply_smaller_than_one_exp<") + Policy::name + "_rounding>";
  return first_failure(
      compare(name, dispatched_path(), store(qkern::simd::multiply_smaller_than_one_exp<Policy>(vx, m)), expected,
              describe),
      compare(name, "generic",
              store(qkern::simd::detail::multiply_smaller_than_one_exp(vx, m, Policy{}, xsimd::generic{})), expected,
              describe));
}

// --- conversions -----------------------------------------------------------------------------

// widen_low and widen_high of x: the lanes of x, widened, in order.
template <class T>
check_result check_widen(const lanes<T>& x) {
  using wide = qkern::simd::widened_t<T>;
  constexpr std::size_t half = lane_count<wide>;
  static_assert(2 * half == lane_count<T>, "widening halves the lane count");
  lanes<wide> expected_low{};
  lanes<wide> expected_high{};
  for (std::size_t i = 0; i < half; ++i) {
    expected_low[i] = static_cast<wide>(x[i]);
    expected_high[i] = static_cast<wide>(x[half + i]);
  }
  const auto vx = load(x);
  const auto describe_low = [&](std::size_t i) { return "x=" + show(x[i]); };
  const auto describe_high = [&](std::size_t i) { return "x=" + show(x[half + i]); };
  const check_result dispatched = first_failure(
      compare("widen_low", dispatched_path(), store(qkern::simd::widen_low(vx)), expected_low, describe_low),
      compare("widen_high", dispatched_path(), store(qkern::simd::widen_high(vx)), expected_high, describe_high));
  const check_result generic = first_failure(
      compare("widen_low", "generic", store(qkern::simd::detail::widen_low(vx, xsimd::generic{})), expected_low,
              describe_low),
      compare("widen_high", "generic", store(qkern::simd::detail::widen_high(vx, xsimd::generic{})), expected_high,
              describe_high));
  return first_failure(dispatched, generic);
}

// saturating_narrow<To> of Parts batches of From (flat holds their lanes, in order).
template <class To, class From, std::size_t Parts>
check_result check_narrow(const std::array<From, lane_count<To>>& flat) {
  static_assert(Parts * lane_count<From> == lane_count<To>, "the parts fill one narrow batch");
  lanes<To> expected{};
  for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = qkern::saturating_cast<To>(flat[i]);
  std::array<batch<From>, Parts> parts{};
  for (std::size_t p = 0; p < Parts; ++p) parts[p] = batch<From>::load_unaligned(flat.data() + p * lane_count<From>);
  const auto describe = [&](std::size_t i) { return "x=" + show(flat[i]); };
  const char* to_name = sizeof(To) == 2 ? "int16" : std::is_signed<To>::value ? "int8" : "uint8";
  const std::string name = "saturating_narrow<" + std::string(to_name) + "> of " + std::to_string(Parts) + " batches";
  if constexpr (Parts == 2) {
    const auto dispatched = qkern::simd::saturating_narrow<To>(parts[0], parts[1]);
    const auto generic = [&]() -> batch<To> {
      if constexpr (std::is_same<From, std::int32_t>::value) {
        return qkern::simd::detail::narrow_int32_to_int16(parts[0], parts[1], xsimd::generic{});
      } else if constexpr (std::is_same<To, std::int8_t>::value) {
        return qkern::simd::detail::narrow_int16_to_int8(parts[0], parts[1], xsimd::generic{});
      } else {
        return qkern::simd::detail::narrow_int16_to_uint8(parts[0], parts[1], xsimd::generic{});
      }
    }();
    return first_failure(compare(name, dispatched_path(), store(dispatched), expected, describe),
                         compare(name, "generic", store(generic), expected, describe));
  } else {
    static_assert(Parts == 4, "two or four parts");
    const auto dispatched = qkern::simd::saturating_narrow<To>(parts[0], parts[1], parts[2], parts[3]);
    const auto generic = [&]() -> batch<To> {
      if constexpr (std::is_same<To, std::int8_t>::value) {
        return qkern::simd::detail::narrow_int32_to_int8(parts[0], parts[1], parts[2], parts[3], xsimd::generic{});
      } else {
        return qkern::simd::detail::narrow_int32_to_uint8(parts[0], parts[1], parts[2], parts[3], xsimd::generic{});
      }
    }();
    return first_failure(compare(name, dispatched_path(), store(dispatched), expected, describe),
                         compare(name, "generic", store(generic), expected, describe));
  }
}

}  // namespace qkern_simd_test
