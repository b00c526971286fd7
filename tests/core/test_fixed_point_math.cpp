// The fixed-point transcendental functions against gemmlowp's fixedpoint.h (the implementation
// TFLite calls): every int16 input exhaustively, int32 inputs by rapidcheck over the whole domain
// plus a dense deterministic sweep, for the integer-bit counts the kernels use and a few more.
#include <doctest/doctest.h>
#include <fixedpoint/fixedpoint.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <tuple>
#include <utility>
#include <vector>

#include "qkern/core/fixed_point_math.hpp"
#include "support/generators.hpp"
#include "support/property.hpp"

namespace {

constexpr std::int32_t int32_min = std::numeric_limits<std::int32_t>::min();
constexpr std::int32_t int32_max = std::numeric_limits<std::int32_t>::max();

template <class Raw, int I>
using ours = qkern::fixed_point<Raw, I>;
template <class Raw, int I>
using theirs = gemmlowp::FixedPoint<Raw, I>;

// Inputs of a domain [lo, hi] of int32: uniform, the ends and their neighbours, and values next
// to powers of two (where the exp barrel shifter and the rescales change behaviour).
rc::Gen<std::int32_t> in_domain(std::int32_t lo, std::int32_t hi) {
  const auto clamp = [lo, hi](std::int64_t v) {
    return static_cast<std::int32_t>(v < lo ? lo : (v > hi ? hi : v));
  };
  return rc::gen::weightedOneOf<std::int32_t>({
      {6, rc::gen::map(rc::gen::inRange<std::int64_t>(lo, std::int64_t{hi} + 1),
                       [](std::int64_t v) { return static_cast<std::int32_t>(v); })},
      {1, rc::gen::elementOf(std::vector<std::int32_t>{lo, clamp(std::int64_t{lo} + 1), clamp(std::int64_t{hi} - 1),
                                                                 hi, clamp(0), clamp(-1), clamp(1)})},
      {2, rc::gen::map(rc::gen::tuple(rc::gen::inRange(0, 32), rc::gen::element(-1, 0, 1), rc::gen::element(-1, 1)),
                       [clamp](std::tuple<int, int, int> t) {
                         return clamp(std::get<2>(t) * (std::int64_t{1} << std::get<0>(t)) + std::get<1>(t));
                       })},
  });
}

// Every value of [lo, hi] for int16; a sweep with a prime stride (plus the ends) for int32.
template <class Raw, class Check>
void sweep(std::int32_t lo, std::int32_t hi, Check&& check) {
  if constexpr (std::is_same<Raw, std::int16_t>::value) {
    for (std::int32_t v = lo; v <= hi; ++v) check(static_cast<Raw>(v));
  } else {
    const std::int64_t stride = (std::int64_t{hi} - lo) / 200003 + 1;
    for (std::int64_t v = lo; v <= hi; v += stride) check(static_cast<Raw>(v));
    check(static_cast<Raw>(hi));
  }
}

constexpr std::int32_t raw_min(bool is16) { return is16 ? -32768 : int32_min; }
constexpr std::int32_t raw_max(bool is16) { return is16 ? 32767 : int32_max; }

// --- per-function comparisons, one integer-bit count at a time ---------------------------------

template <class Raw, int I>
bool exp_agrees(Raw a) {
  return qkern::exp_on_negative_values(ours<Raw, I>::from_raw(a)).raw ==
         gemmlowp::exp_on_negative_values(theirs<Raw, I>::FromRaw(a)).raw();
}
template <class Raw, int I>
bool logistic_agrees(Raw a) {
  return qkern::logistic(ours<Raw, I>::from_raw(a)).raw == gemmlowp::logistic(theirs<Raw, I>::FromRaw(a)).raw();
}
template <class Raw, int I>
bool tanh_agrees(Raw a) {
  return qkern::tanh(ours<Raw, I>::from_raw(a)).raw == gemmlowp::tanh(theirs<Raw, I>::FromRaw(a)).raw();
}

template <class Raw, int... Is>
void check_exp_logistic_tanh(std::integer_sequence<int, Is...>) {
  constexpr bool is16 = std::is_same<Raw, std::int16_t>::value;
  const char* width = is16 ? "int16" : "int32";
  // Deterministic sweeps (exhaustive for int16).
  int failures = 0;
  (sweep<Raw>(raw_min(is16), 0, [&](Raw a) { failures += exp_agrees<Raw, Is>(a) ? 0 : 1; }), ...);
  // gemmlowp negates its int32 input unconditionally, which is UB for INT32_MIN: compared from
  // INT32_MIN + 1 (INT32_MIN itself is checked against the real functions below).
  const std::int32_t lowest_negatable = is16 ? raw_min(true) : raw_min(false) + 1;
  (sweep<Raw>(lowest_negatable, raw_max(is16), [&](Raw a) { failures += logistic_agrees<Raw, Is>(a) ? 0 : 1; }), ...);
  (sweep<Raw>(lowest_negatable, raw_max(is16), [&](Raw a) { failures += tanh_agrees<Raw, Is>(a) ? 0 : 1; }), ...);
  CHECK_MESSAGE(failures == 0, width << " sweep: " << failures << " values differ from gemmlowp");

  if constexpr (!is16) {
    QKERN_PROPERTY("int32 exp_on_negative_values over (-2^31, 0] for every integer-bit count", [] {
      const auto a = *in_domain(int32_min, 0);
      RC_ASSERT(((exp_agrees<Raw, Is>(a)) && ...));
    });
    QKERN_PROPERTY("int32 logistic over the whole range for every integer-bit count", [] {
      const auto a = *in_domain(int32_min + 1, int32_max);
      RC_ASSERT(((logistic_agrees<Raw, Is>(a)) && ...));
    });
    QKERN_PROPERTY("int32 tanh over the whole range for every integer-bit count", [] {
      const auto a = *in_domain(int32_min + 1, int32_max);
      RC_ASSERT(((tanh_agrees<Raw, Is>(a)) && ...));
    });
  }
}

template <class Raw>
void check_q0_functions() {
  constexpr bool is16 = std::is_same<Raw, std::int16_t>::value;
  const Raw quarter = static_cast<Raw>(std::numeric_limits<Raw>::max() / 4 + 1);
  int failures = 0;
  sweep<Raw>(-quarter, -1, [&](Raw a) {
    failures += qkern::exp_on_interval_between_negative_one_quarter_and_0_excl(ours<Raw, 0>::from_raw(a)).raw ==
                        gemmlowp::exp_on_interval_between_negative_one_quarter_and_0_excl(theirs<Raw, 0>::FromRaw(a)).raw()
                    ? 0
                    : 1;
  });
  sweep<Raw>(0, raw_max(is16), [&](Raw a) {
    failures += qkern::one_over_one_plus_x_for_x_in_0_1(ours<Raw, 0>::from_raw(a)).raw ==
                        gemmlowp::one_over_one_plus_x_for_x_in_0_1(theirs<Raw, 0>::FromRaw(a)).raw()
                    ? 0
                    : 1;
    failures += qkern::one_minus_x_over_one_plus_x_for_x_in_0_1(ours<Raw, 0>::from_raw(a)).raw ==
                        gemmlowp::one_minus_x_over_one_plus_x_for_x_in_0_1(theirs<Raw, 0>::FromRaw(a)).raw()
                    ? 0
                    : 1;
  });
  CHECK_MESSAGE(failures == 0, (is16 ? "int16" : "int32") << " Q0 sweep: " << failures << " values differ");
}

// TFLite's GetReciprocal written with gemmlowp's pieces: normalise x to 1 + f, take 1/(1 + f).
std::pair<std::int32_t, int> reference_reciprocal(std::int32_t x, int x_integer_bits) {
  const auto u = static_cast<std::uint32_t>(x);
  const int headroom_plus_one = __builtin_clz(u);
  const auto f = static_cast<std::int32_t>((u << headroom_plus_one) - (std::uint32_t{1} << 31));
  return {gemmlowp::one_over_one_plus_x_for_x_in_0_1(theirs<std::int32_t, 0>::FromRaw(f)).raw(),
          x_integer_bits - headroom_plus_one};
}

}  // namespace

TEST_CASE("exp_on_negative_values, logistic and tanh match gemmlowp (int32)") {
  check_exp_logistic_tanh<std::int32_t>(std::integer_sequence<int, 0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 20, 27>{});
}

TEST_CASE("exp_on_negative_values, logistic and tanh match gemmlowp (int16, exhaustive)") {
  check_exp_logistic_tanh<std::int16_t>(std::integer_sequence<int, 0, 1, 2, 3, 4, 5, 6, 7, 10, 12>{});
}

TEST_CASE("the Q0 polynomial and reciprocals match gemmlowp on their domains") {
  check_q0_functions<std::int16_t>();
  check_q0_functions<std::int32_t>();
  QKERN_PROPERTY("1/(1+a) and (1-a)/(1+a) for a in [0, 1)", [] {
    const auto a = *in_domain(0, int32_max);
    RC_ASSERT(qkern::one_over_one_plus_x_for_x_in_0_1(ours<std::int32_t, 0>::from_raw(a)).raw ==
              gemmlowp::one_over_one_plus_x_for_x_in_0_1(theirs<std::int32_t, 0>::FromRaw(a)).raw());
    RC_ASSERT(qkern::one_minus_x_over_one_plus_x_for_x_in_0_1(ours<std::int32_t, 0>::from_raw(a)).raw ==
              gemmlowp::one_minus_x_over_one_plus_x_for_x_in_0_1(theirs<std::int32_t, 0>::FromRaw(a)).raw());
  });
  QKERN_PROPERTY("exp on [-1/4, 0)", [] {
    const auto a = *in_domain(-(1 << 29), -1);
    RC_ASSERT(qkern::exp_on_interval_between_negative_one_quarter_and_0_excl(ours<std::int32_t, 0>::from_raw(a)).raw ==
              gemmlowp::exp_on_interval_between_negative_one_quarter_and_0_excl(theirs<std::int32_t, 0>::FromRaw(a)).raw());
  });
}

TEST_CASE("reciprocal is TFLite's GetReciprocal") {
  QKERN_PROPERTY("every positive int32, integer bits 0..30", [] {
    const auto x = *in_domain(1, int32_max);
    const int integer_bits = *rc::gen::inRange(0, 31);
    const auto r = qkern::reciprocal(x, integer_bits);
    const auto expected = reference_reciprocal(x, integer_bits);
    RC_ASSERT(r.scale.raw == expected.first);
    RC_ASSERT(r.bits_over_unit == expected.second);
  });
  QKERN_PROPERTY("scale · 2^-bits_over_unit is 1/x to within 2^-26 relative", [] {
    const auto x = *in_domain(1, int32_max);
    const auto r = qkern::reciprocal(x, 12);
    const double value = std::ldexp(r.scale.raw / 2147483648.0, -r.bits_over_unit);
    const double exact = 1.0 / std::ldexp(static_cast<double>(x), -19);  // x in Q12.19
    RC_ASSERT(std::fabs(value - exact) <= exact * std::ldexp(1.0, -26));
  });
  CHECK(qkern::count_leading_zeros(0) == 32);
  CHECK(qkern::count_leading_zeros(1) == 31);
  CHECK(qkern::count_leading_zeros(0x80000000u) == 0);
}

TEST_CASE("arithmetic pieces match gemmlowp's operators") {
  QKERN_PROPERTY("rescale, rounding_half_sum and products", [] {
    const std::int32_t a = *qkern_test::any_int32();
    const std::int32_t b = *qkern_test::any_int32();
    const auto oa = ours<std::int32_t, 4>::from_raw(a);
    const auto ta = theirs<std::int32_t, 4>::FromRaw(a);
    RC_ASSERT(qkern::rescale<0>(oa).raw == gemmlowp::Rescale<0>(ta).raw());
    RC_ASSERT(qkern::rescale<12>(oa).raw == gemmlowp::Rescale<12>(ta).raw());
    RC_ASSERT(qkern::rounding_half_sum(oa, ours<std::int32_t, 4>::from_raw(b)).raw ==
              gemmlowp::RoundingHalfSum(ta, theirs<std::int32_t, 4>::FromRaw(b)).raw());
    RC_ASSERT((oa * ours<std::int32_t, 2>::from_raw(b)).raw == (ta * theirs<std::int32_t, 2>::FromRaw(b)).raw());
  });
  CHECK(ours<std::int32_t, 0>::one().raw == theirs<std::int32_t, 0>::One().raw());
  CHECK(ours<std::int32_t, 2>::one().raw == theirs<std::int32_t, 2>::One().raw());
  CHECK(ours<std::int16_t, 0>::one().raw == theirs<std::int16_t, 0>::One().raw());
  CHECK(ours<std::int16_t, 3>::one().raw == theirs<std::int16_t, 3>::One().raw());
}

TEST_CASE("the functions agree with the real functions they approximate") {
  QKERN_PROPERTY("Q4.27 logistic and tanh within 2^-20 of the float functions", [] {
    const auto a = *in_domain(int32_min, int32_max);
    const double x = std::ldexp(static_cast<double>(a), -27);
    const double logistic = qkern::logistic(qkern::q31<4>::from_raw(a)).raw / 2147483648.0;
    const double tanh = qkern::tanh(qkern::q31<4>::from_raw(a)).raw / 2147483648.0;
    RC_ASSERT(std::fabs(logistic - 1.0 / (1.0 + std::exp(-x))) < std::ldexp(1.0, -20));
    RC_ASSERT(std::fabs(tanh - std::tanh(x)) < std::ldexp(1.0, -20));
  });
  QKERN_PROPERTY("Q5.26 exp within 2^-20 of std::exp", [] {
    const auto a = *in_domain(int32_min, 0);
    const double exp = qkern::exp_on_negative_values(qkern::q31<5>::from_raw(a)).raw / 2147483648.0;
    RC_ASSERT(std::fabs(exp - std::exp(std::ldexp(static_cast<double>(a), -26))) < std::ldexp(1.0, -20));
  });
  // The most negative input, -2^I, which gemmlowp cannot take without UB.
  const auto at_lowest = [](auto logistic_q0, auto tanh_q0, int integer_bits) {
    const double x = -std::ldexp(1.0, integer_bits);
    CHECK(std::fabs(logistic_q0.raw / 2147483648.0 - 1.0 / (1.0 + std::exp(-x))) < std::ldexp(1.0, -20));
    CHECK(std::fabs(tanh_q0.raw / 2147483648.0 - std::tanh(x)) < std::ldexp(1.0, -20));
  };
  at_lowest(qkern::logistic(qkern::q31<0>::from_raw(int32_min)), qkern::tanh(qkern::q31<0>::from_raw(int32_min)), 0);
  at_lowest(qkern::logistic(qkern::q31<2>::from_raw(int32_min)), qkern::tanh(qkern::q31<2>::from_raw(int32_min)), 2);
  at_lowest(qkern::logistic(qkern::q31<4>::from_raw(int32_min)), qkern::tanh(qkern::q31<4>::from_raw(int32_min)), 4);
  at_lowest(qkern::logistic(qkern::q31<8>::from_raw(int32_min)), qkern::tanh(qkern::q31<8>::from_raw(int32_min)), 8);
  // The constants are round(value · 2^31) of the real numbers they name.
  CHECK(std::lround(std::exp(-0.125) * 2147483648.0) == 1895147668);
  CHECK(std::lround(2147483648.0 / 3.0) == 715827883);
  CHECK(std::lround(48.0 / 17.0 * 536870912.0) == 1515870810);
  CHECK(std::lround(-32.0 / 17.0 * 536870912.0) == -1010580540);
  const long exp_constants[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
  for (int i = 0; i < 7; ++i) CHECK(std::lround(std::exp(-std::ldexp(1.0, i - 2)) * 2147483648.0) == exp_constants[i]);
}

// Usable in constant expressions.
static_assert(qkern::exp_on_negative_values(qkern::q31<5>::zero()).raw == int32_max);
static_assert(qkern::logistic(qkern::q31<4>::zero()).raw == (1 << 30));
static_assert(qkern::tanh(qkern::q31<4>::zero()).raw == 0);
static_assert(qkern::tanh(qkern::q31<4>::from_raw(int32_max)).raw > int32_max - 16);
static_assert(qkern::reciprocal(1 << 19, 12).bits_over_unit == 0);
static_assert(qkern::logistic(qkern::q15<3>::from_raw(32767)).raw > 32000);
