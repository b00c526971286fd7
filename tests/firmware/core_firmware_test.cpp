// The core layer on a Cortex-M4 (bare metal, picolibc, semihosting): the primitives and both
// rounding policies against gemmlowp's fixedpoint.h, the rest against hand-derived values, and
// static_asserts that prove constant evaluation on the target compiler. Exits non-zero on any
// failure. Built and run by scripts/firmware_test.sh.
#include <qkern/qkern.hpp>

#include <fixedpoint/fixedpoint.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>

#if QKERN_SIMD
#error "the firmware build must have QKERN_SIMD=0"
#endif

namespace {

using std::int16_t;
using std::int32_t;
using std::int64_t;
using std::int8_t;
using std::uint32_t;
using qkern::double_rounding;
using qkern::quantized_multiplier;
using qkern::single_rounding;

// On arm-none-eabi int32_t is long, not int. Plain int literals below check that calls with
// int arguments still resolve to the int32 forms there.
constexpr int32_t int32_min = std::numeric_limits<int32_t>::min();
constexpr int32_t int32_max = std::numeric_limits<int32_t>::max();

// ---- Constant evaluation on the target ----

static_assert(qkern::saturating_rounding_doubling_high_mul(int32_min, int32_min) == int32_max, "");
static_assert(qkern::saturating_rounding_doubling_high_mul(1 << 30, 1 << 30) == 1 << 29, "");
static_assert(qkern::rounding_divide_by_pot(-5, 1) == -3, "ties away from zero");
static_assert(qkern::saturating_cast<int8_t>(300) == 127, "");
static_assert(qkern::saturating_add<int16_t>(30000, 30000) == 32767, "");
static_assert(qkern::saturating_left_shift(-3, 31) == int32_min, "");
static_assert(qkern::quantize_multiplier(0.5).value().multiplier == 1 << 30, "");
static_assert(qkern::quantize_multiplier(0.5).value().shift == 0, "");
static_assert(qkern::quantize_multiplier<single_rounding>(4294967296.0).value().shift == 30, "");
static_assert(!qkern::quantize_multiplier(-1.0).ok(), "");
static_assert(double_rounding::multiply(5, quantized_multiplier{1 << 30, -1}) == 2, "");
static_assert(single_rounding::multiply(5, quantized_multiplier{1 << 30, -1}) == 1, "");
static_assert(qkern::make_activation_range<int8_t>(qkern::fused_activation::relu, {0.5f, -10}).value().min == -10,
              "");
static_assert(qkern::make_broadcast_plan(qkern::shape{1, {4}}, qkern::shape{2, {3, 4}}).value().kind ==
                  qkern::broadcast_kind::inner_vector,
              "");
static_assert(qkern::make_broadcast_plan(qkern::shape{2, {2, 3}}, qkern::shape{2, {4, 3}}).error().code() ==
                  qkern::status_code::not_broadcastable,
              "");

// ---- Reporting ----

int checks = 0;
int failures = 0;

void report(bool ok, int line, const char* what) {
  ++checks;
  if (ok) return;
  if (++failures <= 20) std::printf("FAIL line %d: %s\n", line, what);
}
#define CHECK(cond) report((cond), __LINE__, #cond)

void check_eq(const char* what, int32_t got, int32_t want, int32_t a, int32_t b, int c) {
  ++checks;
  if (got == want) return;
  if (++failures <= 20) {
    std::printf("FAIL %s(%ld, %ld, %d): got %ld, want %ld\n", what, static_cast<long>(a), static_cast<long>(b), c,
                static_cast<long>(got), static_cast<long>(want));
  }
}

// ---- Inputs ----

struct xorshift32 {
  uint32_t state = 0x2545F491u;
  uint32_t next() {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
  }
  int below(int n) { return static_cast<int>(next() % static_cast<uint32_t>(n)); }
};

// Extremes, uniform values, and values of every magnitude (a random word shifted right).
int32_t any_int32(xorshift32& rng) {
  static constexpr int32_t edges[] = {int32_min, int32_min + 1, -(1 << 30), -1, 0, 1, 1 << 30,
                                      int32_max - 1, int32_max};
  switch (rng.below(4)) {
    case 0: return edges[rng.below(sizeof(edges) / sizeof(edges[0]))];
    case 1: return static_cast<int32_t>(rng.next()) >> rng.below(32);
    default: return static_cast<int32_t>(rng.next());
  }
}

// An exact tie for a division by 2^exponent (exponent >= 1): an odd multiple of 2^(exponent-1).
int32_t tie_for(xorshift32& rng, int exponent) {
  const int64_t k = static_cast<int32_t>(rng.next()) >> exponent;  // keeps (2k+1) * half in int32
  return static_cast<int32_t>(k * (int64_t{1} << exponent) + (int64_t{1} << (exponent - 1)));
}

int32_t clamp_to_int32(int64_t v) {
  return v < int32_min ? int32_min : (v > int32_max ? int32_max : static_cast<int32_t>(v));
}

// ---- Oracles ----

// round(x * m * 2^shift / 2^31) with ties toward +infinity, clamped to int32, from the floor
// quotient and the remainder rather than from an added half.
int32_t single_rounding_oracle(int32_t x, quantized_multiplier m) {
  const int k = 31 - m.shift;
  const int64_t product = static_cast<int64_t>(x) * m.multiplier;
  const int64_t floor_quotient = product >> k;
  const int64_t remainder = product - floor_quotient * (int64_t{1} << k);
  return clamp_to_int32(floor_quotient + (remainder >= (int64_t{1} << (k - 1)) ? 1 : 0));
}

// TFLite's double-rounding product written with gemmlowp. TFLite's x * 2^left is UB when it
// overflows; qkern rounds the exact product once and saturates there, which is the
// single-rounding formula (a left shift leaves only the high multiply's rounding).
int32_t double_rounding_oracle(int32_t x, quantized_multiplier m) {
  const int left = m.shift > 0 ? m.shift : 0;
  const int right = m.shift > 0 ? 0 : -m.shift;
  const int64_t scaled = static_cast<int64_t>(x) * (int64_t{1} << left);
  if (scaled != clamp_to_int32(scaled)) return single_rounding_oracle(x, m);
  return gemmlowp::RoundingDivideByPOT(
      gemmlowp::SaturatingRoundingDoublingHighMul(static_cast<int32_t>(scaled), m.multiplier), right);
}

// TFLite's QuantizeMultiplier from its description, with libm's frexp and round.
quantized_multiplier quantize_oracle(double real, int max_shift) {
  int shift = 0;
  const double fraction = std::frexp(real, &shift);
  auto q = static_cast<int64_t>(std::round(fraction * 2147483648.0));
  if (q == (int64_t{1} << 31)) {
    q /= 2;
    ++shift;
  }
  if (shift < -31) return {0, 0};
  if (shift > max_shift) return {int32_max, max_shift};
  return {static_cast<int32_t>(q), shift};
}

// ---- Tests ----

constexpr int iterations = 3000;

void test_fixed_point(xorshift32& rng) {
  for (int i = 0; i < iterations; ++i) {
    const int32_t a = any_int32(rng);
    const int32_t b = any_int32(rng);
    check_eq("srdhm", qkern::saturating_rounding_doubling_high_mul(a, b),
             gemmlowp::SaturatingRoundingDoublingHighMul(a, b), a, b, 0);
    // Ties of the doubling high multiply: an odd a times +-2^30.
    const int32_t odd = static_cast<int32_t>(rng.next() | 1u);
    const int32_t half = (i & 1) ? (1 << 30) : -(1 << 30);
    check_eq("srdhm tie", qkern::saturating_rounding_doubling_high_mul(odd, half),
             gemmlowp::SaturatingRoundingDoublingHighMul(odd, half), odd, half, 0);

    const auto a16 = static_cast<int16_t>(a);
    const auto b16 = static_cast<int16_t>(b >> 16);
    check_eq("srdhm16", qkern::saturating_rounding_doubling_high_mul(a16, b16),
             gemmlowp::SaturatingRoundingDoublingHighMul(a16, b16), a16, b16, 0);

    const int e = rng.below(32);
    check_eq("rdbp", qkern::rounding_divide_by_pot(a, e), gemmlowp::RoundingDivideByPOT(a, e), a, 0, e);
    const int te = 1 + rng.below(31);
    const int32_t tie = tie_for(rng, te);
    check_eq("rdbp tie", qkern::rounding_divide_by_pot(tie, te), gemmlowp::RoundingDivideByPOT(tie, te), tie, 0, te);
    const int e16 = rng.below(16);
    check_eq("rdbp16", qkern::rounding_divide_by_pot(a16, e16), gemmlowp::RoundingDivideByPOT(a16, e16), a16, 0, e16);

    // Saturating arithmetic against the exact int64 value, clamped.
    const int64_t wide_a = a;
    const int64_t wide_b = b;
    check_eq("sat_add", qkern::saturating_add(a, b), clamp_to_int32(wide_a + wide_b), a, b, 0);
    check_eq("sat_sub", qkern::saturating_sub(a, b), clamp_to_int32(wide_a - wide_b), a, b, 0);
    check_eq("sat_add16", qkern::saturating_add(a16, b16), gemmlowp::SaturatingAdd(a16, b16), a16, b16, 0);
    check_eq("sat_cast8", qkern::saturating_cast<int8_t>(a),
             wide_a < -128 ? -128 : (wide_a > 127 ? 127 : static_cast<int32_t>(a)), a, 0, 0);
    check_eq("sat_cast_u8", qkern::saturating_cast<std::uint8_t>(wide_a * wide_b),
             wide_a * wide_b < 0 ? 0 : (wide_a * wide_b > 255 ? 255 : static_cast<int32_t>(wide_a * wide_b)), a, b, 0);
    check_eq("sat_lshift", qkern::saturating_left_shift(a, e), clamp_to_int32(wide_a * (int64_t{1} << e)), a, 0, e);
  }
  CHECK(qkern::saturating_cast<int16_t>(int64_t{1} << 40) == 32767);
  CHECK(qkern::saturating_cast<int32_t>(std::numeric_limits<std::uint64_t>::max()) == int32_max);
  CHECK(qkern::saturating_sub<int32_t>(0, int32_min) == int32_max);
}

quantized_multiplier random_multiplier(xorshift32& rng, int min_shift, int max_shift) {
  // Mostly normalised multipliers in [2^30, 2^31); sometimes any int32 (the primitives allow it).
  const int32_t multiplier =
      rng.below(8) == 0 ? any_int32(rng) : static_cast<int32_t>((1u << 30) | (rng.next() >> 2));
  return {multiplier, min_shift + rng.below(max_shift - min_shift + 1)};
}

void test_rounding_policies(xorshift32& rng) {
  for (int i = 0; i < iterations; ++i) {
    const quantized_multiplier m = random_multiplier(rng, -31, 30);
    int32_t x = any_int32(rng);
    if (m.shift > 0 && (i & 1)) x >>= m.shift;  // half of the left-shift cases stay in TFLite's contract
    const int32_t dbl = double_rounding::multiply(x, m);
    check_eq("double", dbl, double_rounding_oracle(x, m), x, m.multiplier, m.shift);
    const int32_t sgl = single_rounding::multiply(x, m);
    check_eq("single", sgl, single_rounding_oracle(x, m), x, m.multiplier, m.shift);

    if (m.shift <= 0) {
      check_eq("double <1", double_rounding::multiply_smaller_than_one_exp(x, m), double_rounding_oracle(x, m), x,
               m.multiplier, m.shift);
      check_eq("single <1", single_rounding::multiply_smaller_than_one_exp(x, m), sgl, x, m.multiplier, m.shift);
    }
    // One rounding vs two: equal without a right shift (and without saturation), else within 1.
    const int64_t exact_shifted = static_cast<int64_t>(x) * (int64_t{1} << (m.shift > 0 ? m.shift : 0));
    if (exact_shifted > int32_min && exact_shifted <= int32_max) {
      const int64_t diff = static_cast<int64_t>(sgl) - dbl;
      if (m.shift >= 0) {
        check_eq("single==double", sgl, dbl, x, m.multiplier, m.shift);
      } else {
        CHECK(diff >= -1 && diff <= 1);
      }
    }
  }
  // The classic double-rounding case: 5 * 0.25 = 1.25; two roundings give 2.5 -> 3 -> 2.
  CHECK(double_rounding::multiply(5, {1 << 30, -1}) == 2);
  CHECK(single_rounding::multiply(5, {1 << 30, -1}) == 1);
  CHECK(single_rounding::multiply(-3, {1 << 30, 0}) == -1);  // -1.5: ties toward +infinity
  CHECK(double_rounding::multiply(-3, {1 << 30, -1}) == -1);  // -0.75 -> -1 (SRDHM) -> -0.5 -> -1 (away)
  // Out of TFLite's contract (x * 4 overflows, UB there): qkern saturates the exact result.
  CHECK(double_rounding::multiply(int32_max, {1 << 30, 2}) == int32_max);
  CHECK(double_rounding::multiply(1 << 30, {1 << 30, 1}) == 1 << 30);
  // The int64 accumulator form: the multiplier is reduced to 16 bits, then one half-up shift.
  CHECK(double_rounding::multiply(int64_t{1001}, {1 << 30, 0}) == 501);
  CHECK(single_rounding::multiply(int64_t{-1001}, {1 << 30, 0}) == -500);
  CHECK(double_rounding::multiply(int64_t{1} << 40, {1 << 30, -12}) == 1 << 27);
}

void check_quantize(const char* policy, double real, qkern::result<quantized_multiplier> got,
                    quantized_multiplier want) {
  ++checks;
  if (got.ok() && got.value() == want) return;
  if (++failures <= 20) {
    const quantized_multiplier g = got.ok() ? got.value() : quantized_multiplier{-1, -1};
    std::printf("FAIL quantize<%s>(%.17g): got {%ld, %d}, want {%ld, %d}\n", policy, real,
                static_cast<long>(g.multiplier), g.shift, static_cast<long>(want.multiplier), want.shift);
  }
}

bool quantizes_to(qkern::result<quantized_multiplier> r, int32_t multiplier, int shift) {
  return r.ok() && r.value() == quantized_multiplier{multiplier, shift};
}

void test_quantize_multiplier(xorshift32& rng) {
  CHECK(quantizes_to(qkern::quantize_multiplier(0.5), 1 << 30, 0));
  CHECK(quantizes_to(qkern::quantize_multiplier(1.0), 1 << 30, 1));
  CHECK(quantizes_to(qkern::quantize_multiplier(0.75), 3 << 29, 0));
  CHECK(quantizes_to(qkern::quantize_multiplier(0.0), 0, 0));
  CHECK(quantizes_to(qkern::quantize_multiplier(1.0 - std::ldexp(1.0, -40)), 1 << 30, 1));  // rounds up to 2^31
  CHECK(quantizes_to(qkern::quantize_multiplier(std::ldexp(1.0, 32)), 1 << 30, 33));
  CHECK(quantizes_to(qkern::quantize_multiplier<single_rounding>(std::ldexp(1.0, 32)), int32_max, 30));
  CHECK(quantizes_to(qkern::quantize_multiplier<single_rounding>(std::ldexp(1.0, 29)), 1 << 30, 30));
  CHECK(quantizes_to(qkern::quantize_multiplier(std::ldexp(1.0, -32)), 1 << 30, -31));
  CHECK(quantizes_to(qkern::quantize_multiplier(std::ldexp(1.0, -33)), 0, 0));  // below 2^-32: flushed
  CHECK(quantizes_to(qkern::quantize_multiplier<single_rounding>(1e-12), 0, 0));
  CHECK(qkern::quantize_multiplier(-0.5).error().code() == qkern::status_code::invalid_multiplier);
  CHECK(!qkern::quantize_multiplier(std::numeric_limits<double>::quiet_NaN()).ok());
  CHECK(!qkern::quantize_multiplier(std::numeric_limits<double>::infinity()).ok());
  CHECK(!qkern::quantize_multiplier_smaller_than_one(1.0).ok());
  CHECK(quantizes_to(qkern::quantize_multiplier_smaller_than_one(0.25), 1 << 30, -1));
  CHECK(!qkern::quantize_multiplier_greater_than_one(0.5).ok());
  CHECK(quantizes_to(qkern::quantize_multiplier_greater_than_one(3.0), 3 << 29, 2));
  CHECK(qkern::quantize_multiplier(0.3).value().real_value() > 0.3 - 1e-9);

  for (int i = 0; i < iterations; ++i) {
    // Random 53-bit mantissas over exponents that cover the flush, normal and capped ranges.
    const double mantissa = 1.0 + std::ldexp(static_cast<double>(rng.next()), -32) + std::ldexp(rng.next(), -53);
    const double real = std::ldexp(mantissa, rng.below(80) - 40);
    const auto dbl = qkern::quantize_multiplier<double_rounding>(real);
    const auto sgl = qkern::quantize_multiplier<single_rounding>(real);
    const quantized_multiplier want_dbl = quantize_oracle(real, std::numeric_limits<int>::max());
    const quantized_multiplier want_sgl = quantize_oracle(real, 30);
    check_quantize("double", real, dbl, want_dbl);
    check_quantize("single", real, sgl, want_sgl);
  }
}

bool range_is(qkern::result<qkern::activation_range> r, int32_t min, int32_t max) {
  return r.ok() && r.value().min == min && r.value().max == max;
}

void test_activation_range() {
  using qkern::fused_activation;
  using qkern::make_activation_range;
  CHECK(range_is(make_activation_range<int8_t>(fused_activation::none, {0.1f, 3}), -128, 127));
  CHECK(range_is(make_activation_range<int8_t>(fused_activation::relu, {0.1f, 10}), 10, 127));
  CHECK(range_is(make_activation_range<int8_t>(fused_activation::relu6, {0.1f, -128}), -128, -68));  // 6 / 0.1 = 60
  CHECK(range_is(make_activation_range<int8_t>(fused_activation::relu_n1_to_1, {1.0f / 64, 0}), -64, 64));
  CHECK(range_is(make_activation_range<std::uint8_t>(fused_activation::relu6, {0.01f, 0}), 0, 255));  // 600 clamped
  CHECK(range_is(make_activation_range<int16_t>(fused_activation::relu6, {6.0f / 32767, 0}), 0, 32767));
  CHECK(range_is(make_activation_range<int8_t>(fused_activation::relu6, {0.25f, 0}), 0, 24));
  CHECK(range_is(make_activation_range<int8_t>(fused_activation::relu_n1_to_1, {0.4f, 0}), -3, 3));  // 2.5 -> 3
  CHECK(make_activation_range<int8_t>(fused_activation::relu, {0.0f, 0}).error().code() ==
        qkern::status_code::invalid_scale);
  CHECK(make_activation_range<int8_t>(fused_activation::relu, {1.0f, 200}).error().code() ==
        qkern::status_code::invalid_zero_point);
}

void test_broadcast() {
  using qkern::broadcast_kind;
  using qkern::broadcast_operand;
  using qkern::make_broadcast_plan;
  using qkern::shape;

  const auto same = make_broadcast_plan(shape{2, {2, 3}}, shape{2, {2, 3}});
  CHECK(same.ok() && same->kind == broadcast_kind::same_shape && same->rank == 1 && same->extent[0] == 6);
  CHECK(!same->requires_broadcast());

  const auto scalar = make_broadcast_plan(shape{}, shape{2, {3, 4}});
  CHECK(scalar.ok() && scalar->kind == broadcast_kind::scalar && scalar->operand == broadcast_operand::first);
  CHECK(scalar->output == (shape{2, {3, 4}}) && scalar->output_count == 12);

  // Squeeze-and-excitation: 1x1x1x8 * 2x4x4x8 collapses to extents {32, 8}.
  const auto inner = make_broadcast_plan(shape{4, {1, 1, 1, 8}}, shape{4, {2, 4, 4, 8}});
  CHECK(inner.ok() && inner->kind == broadcast_kind::inner_vector && inner->operand == broadcast_operand::first);
  CHECK(inner->rank == 2 && inner->extent[0] == 32 && inner->extent[1] == 8);
  CHECK(inner->stride_first[0] == 0 && inner->stride_first[1] == 1);
  CHECK(inner->stride_second[0] == 8 && inner->stride_second[1] == 1);

  const auto outer = make_broadcast_plan(shape{2, {4, 5}}, shape{2, {4, 1}});
  CHECK(outer.ok() && outer->kind == broadcast_kind::outer_vector && outer->operand == broadcast_operand::second);

  const auto general = make_broadcast_plan(shape{3, {2, 1, 3}}, shape{3, {1, 4, 1}});
  CHECK(general.ok() && general->kind == broadcast_kind::general && general->rank == 3);
  CHECK(general->output == (shape{3, {2, 4, 3}}) && general->output_count == 24);
  CHECK(general->stride_first[0] == 3 && general->stride_first[1] == 0 && general->stride_first[2] == 1);

  const auto bad = make_broadcast_plan(shape{2, {2, 3}}, shape{2, {4, 3}});
  CHECK(!bad.ok() && bad.error().code() == qkern::status_code::not_broadcastable && bad.error().value() == 0);
  CHECK(make_broadcast_plan(shape{7, {}}, shape{}).error().code() == qkern::status_code::rank_too_large);
  CHECK(make_broadcast_plan(shape{1, {-1}}, shape{}).error().subject() != nullptr);
}

void test_status() {
  const qkern::status ok;
  CHECK(ok.ok() && std::strcmp(ok.message(), "ok") == 0);

  const qkern::status zp = qkern::validate_quantization<int8_t>(qkern::quantization_params{1.0f, 200}, "input2");
  CHECK(zp.code() == qkern::status_code::invalid_zero_point && zp.has_value() && zp.value() == 200);
  char buf[96];
  const char* text = "input2: zero point is outside the range of the element type (got 200)";
  CHECK(zp.format(buf, sizeof(buf)) == std::strlen(text) && std::strcmp(buf, text) == 0);
  CHECK(zp.format(buf, 8) == std::strlen(text) && std::strcmp(buf, "input2:") == 0);  // truncated, terminated
  CHECK(qkern::status(qkern::status_code::overflow, "m", nullptr, -42).format(buf, sizeof(buf)) == 11 &&
        std::strcmp(buf, "m (got -42)") == 0);

  const qkern::result<int> failed = qkern::status(qkern::status_code::invalid_argument, "no");
  CHECK(!failed.ok() && failed.error().code() == qkern::status_code::invalid_argument);
  const qkern::result<int> from_ok_status = qkern::status();  // an ok status is not a value
  CHECK(!from_ok_status.ok());
  const qkern::result<int> value = 7;
  CHECK(value.ok() && *value == 7);
}

}  // namespace

int main() {
  xorshift32 rng;
  test_fixed_point(rng);
  test_rounding_policies(rng);
  test_quantize_multiplier(rng);
  test_activation_range();
  test_broadcast();
  test_status();
  std::printf("qkern core firmware test (QKERN_SIMD=%d): %d checks, %d failures: %s\n", QKERN_SIMD, checks, failures,
              failures == 0 ? "PASS" : "FAIL");
  return failures == 0 ? 0 : 1;
}
