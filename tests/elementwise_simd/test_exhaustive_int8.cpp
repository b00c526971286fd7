// int8 add, sub and mul: the SIMD path equals the scalar spec on all 65,536 input pairs, for
// hundreds of parameter sets per op and policy: random quantizations, equal and power-of-two
// scales (ties), extreme zero points, multipliers set directly to 2^30, 2^30 + 1, INT32_MAX and
// random values with extreme shifts, and random activation clamps. This is the proof of the
// identities the fast rows rely on (the fused requantization, add's table and carry forms, mul's
// folded doubling and float form); prepare falls back to the other paths where a form does not apply, which the
// same comparison covers. The counts of sets that took each fast form are reported.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cases.hpp"
#include "qkern/kernels/elementwise.hpp"

namespace {

using namespace qkern_ew_test;

#if defined(__aarch64__) || defined(__arm__)
constexpr int random_sets = 24;  // under qemu
#else
constexpr int random_sets = 320;
#endif

struct all_pairs {
  std::vector<std::int8_t> first, second;
  qkern::shape shape;
  all_pairs() : first(65536), second(65536), shape(qkern::make_shape({256, 256}).value()) {
    for (int i = 0; i < 65536; ++i) {
      first[static_cast<std::size_t>(i)] = static_cast<std::int8_t>(i >> 8);
      second[static_cast<std::size_t>(i)] = static_cast<std::int8_t>(i & 255);
    }
  }
};

const all_pairs& pairs() {
  static const all_pairs p;
  return p;
}

// A random activation range inside [-128, 127] (min <= max), or the full range.
template <class Params>
void draw_clamp(splitmix& rng, Params& p) {
  if (rng.in_range(0, 2) != 0) return;
  auto lo = static_cast<std::int32_t>(rng.in_range(-128, 127));
  auto hi = static_cast<std::int32_t>(rng.in_range(-128, 127));
  if (lo > hi) std::swap(lo, hi);
  p.output_activation_min = lo;
  p.output_activation_max = hi;
}

float draw_scale_value(splitmix& rng, int lo_exp, int hi_exp) {
  const auto e = static_cast<int>(rng.in_range(lo_exp, hi_exp));
  double s = 1.0;
  for (int i = 0; i < (e < 0 ? -e : e); ++i) s = e < 0 ? s / 2 : s * 2;
  if (rng.in_range(0, 3) == 0) return static_cast<float>(s);  // a power of two: exact ties
  return static_cast<float>(s * (1.0 + static_cast<double>(rng.in_range(0, (1 << 20) - 1)) / (1 << 20)));
}

std::int32_t draw_zero_point(splitmix& rng) {
  switch (rng.in_range(0, 4)) {
    case 0: return -128;
    case 1: return 127;
    case 2: return 0;
    default: return static_cast<std::int32_t>(rng.in_range(-128, 127));
  }
}

std::int32_t draw_multiplier(splitmix& rng) {
  switch (rng.in_range(0, 5)) {
    case 0: return std::int32_t{1} << 30;
    case 1: return (std::int32_t{1} << 30) + 1;
    case 2: return INT32_MAX;
    default: return static_cast<std::int32_t>(rng.in_range(std::int64_t{1} << 30, INT32_MAX));
  }
}

template <class Params, class Simd, class Element>
std::string compare_all(const Params& p, Simd simd, Element element) {
  const all_pairs& in = pairs();
  std::vector<std::int8_t> out(65536);
  simd(p, in.first.data(), in.second.data(), out.data());
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::int8_t want = element(p, in.first[i], in.second[i]);
    if (out[i] != want) {
      return "a " + std::to_string(in.first[i]) + ", b " + std::to_string(in.second[i]) + ": simd " +
             std::to_string(out[i]) + ", scalar " + std::to_string(want);
    }
  }
  return {};
}

std::string describe(const qkern::quantized_multiplier& m) {
  return std::to_string(m.multiplier) + "*2^" + std::to_string(m.shift);
}

template <class Policy, bool Subtract>
void check_add_sub(std::uint64_t seed) {
  using params = std::conditional_t<Subtract, qkern::sub_params<std::int8_t, Policy>, qkern::add_params<std::int8_t, Policy>>;
  splitmix rng(seed);
  const auto& shape = pairs().shape;
  int tested = 0, table_form = 0, carry_form = 0;
  for (int set = 0; set < random_sets; ++set) {
    qkern::quantization_params q1{draw_scale_value(rng, -10, -2), draw_zero_point(rng)};
    qkern::quantization_params q2{draw_scale_value(rng, -10, -2), draw_zero_point(rng)};
    if (rng.in_range(0, 3) == 0) q2.scale = q1.scale;
    const double larger = q1.scale > q2.scale ? q1.scale : q2.scale;
    qkern::quantization_params qo{static_cast<float>(larger * draw_scale_value(rng, -19, 6)), draw_zero_point(rng)};
    qkern::result<params> r = [&] {
      if constexpr (Subtract) {
        return qkern::prepare_sub<std::int8_t, Policy>(q1, shape, q2, shape, qo);
      } else {
        return qkern::prepare_add<std::int8_t, Policy>(q1, shape, q2, shape, qo);
      }
    }();
    if (!r.ok()) continue;
    params p = *r;
    // Every third set: the multipliers set directly (the non-half input's and the output's),
    // at 2^30, 2^30 + 1, INT32_MAX or random, with shifts down to the extremes.
    if (set % 3 == 0) {
      auto& other = p.input1_multiplier == qkern::quantized_multiplier{1 << 30, 0} ? p.input2_multiplier
                                                                                    : p.input1_multiplier;
      other = {draw_multiplier(rng), -static_cast<int>(rng.in_range(0, 31))};
      p.output_multiplier = {draw_multiplier(rng), -static_cast<int>(rng.in_range(0, 31))};
      qkern::detail::prepare_add_sub_fast_forms(p, Subtract);
    }
    draw_clamp(rng, p);
    ++tested;
    table_form += p.has_table_form ? 1 : 0;
    carry_form += p.carry_form.valid ? 1 : 0;
    const auto spec = [](const params& pp, std::int8_t a, std::int8_t b) {
      if constexpr (Subtract) {
        return qkern::sub_element(pp, a, b);
      } else {
        return qkern::add_element(pp, a, b);
      }
    };
    const auto simd = [](const params& pp, const std::int8_t* a, const std::int8_t* b, std::int8_t* o) {
      if constexpr (Subtract) {
        qkern::simd::sub<arch>(pp, a, b, o);
      } else {
        qkern::simd::add<arch>(pp, a, b, o);
      }
    };
    const auto carry = [](const params& pp, const std::int8_t* a, const std::int8_t* b, std::int8_t* o) {
      for (std::size_t i = 0; i < 65536; ++i) {
        o[i] = qkern::apply_carry_form(pp.carry_form, a[i], b[i], pp.output_activation_min, pp.output_activation_max);
      }
    };
    INFO((Subtract ? "sub " : "add ") << std::string(Policy::name) << " set " << set << ": m1 " << describe(p.input1_multiplier)
                                      << ", m2 " << describe(p.input2_multiplier) << ", mo "
                                      << describe(p.output_multiplier) << ", offsets " << p.input1_offset << " "
                                      << p.input2_offset << " " << p.output_offset << ", table form "
                                      << p.has_table_form << ", carry form " << p.carry_form.valid);
    // The carry form by its scalar evaluation (on every arch), the SIMD path (the carry row where
    // the arch has one), and the SIMD path without the carry form (the table row behind it).
    if (p.carry_form.valid) REQUIRE(compare_all(p, carry, spec) == "");
    REQUIRE(compare_all(p, simd, spec) == "");
    if (p.carry_form.valid) {
      params without_carry = p;
      without_carry.carry_form.valid = false;
      REQUIRE(compare_all(without_carry, simd, spec) == "");
    }
  }
  MESSAGE((Subtract ? "sub " : "add ") << std::string(Policy::name) << ": " << tested << " sets x 65536 pairs, " << table_form
                                       << " in the table form, " << carry_form << " in the carry form");
  CHECK(tested >= random_sets / 2);
  CHECK(table_form >= tested / 2);
  CHECK(carry_form >= tested / 4);
}

template <class Policy>
void check_mul(std::uint64_t seed) {
  using params = qkern::mul_params<std::int8_t, Policy>;
  splitmix rng(seed);
  const auto& shape = pairs().shape;
  int tested = 0, fused = 0, float_form = 0;
  for (int set = 0; set < random_sets; ++set) {
    qkern::quantization_params q1{draw_scale_value(rng, -10, -2), draw_zero_point(rng)};
    qkern::quantization_params q2{draw_scale_value(rng, -10, -2), draw_zero_point(rng)};
    qkern::quantization_params qo{
        static_cast<float>(static_cast<double>(q1.scale) * q2.scale * draw_scale_value(rng, -12, 24)),
        draw_zero_point(rng)};
    const auto r = qkern::prepare_mul<std::int8_t, Policy>(q1, shape, q2, shape, qo);
    if (!r.ok()) continue;
    params p = *r;
    if (set % 3 == 0) {
      // shifts from -31 to +8 (the fused form ends at a left shift of 13; the fold into int16
      // words at 6)
      p.output_multiplier = {draw_multiplier(rng), static_cast<int>(rng.in_range(-31, 8))};
      qkern::detail::prepare_mul_fast_forms(p);
    }
    draw_clamp(rng, p);  // the float form is checked for the full int8 range, so any clamp keeps it
    ++tested;
    fused += p.has_fused_output ? 1 : 0;
    float_form += p.float_output.valid ? 1 : 0;
    INFO("mul " << std::string(Policy::name) << " set " << set << ": mo " << describe(p.output_multiplier) << ", offsets "
                << p.input1_offset << " " << p.input2_offset << " " << p.output_offset);
    const auto simd_mul = [](const params& pp, const std::int8_t* a, const std::int8_t* b, std::int8_t* o) {
      qkern::simd::mul<arch>(pp, a, b, o);
    };
    const auto spec = [](const params& pp, std::int8_t a, std::int8_t b) { return qkern::mul_element(pp, a, b); };
    REQUIRE(compare_all(p, simd_mul, spec) == "");
    if (p.float_output.valid) {  // the rows without the float form, for the same parameters
      params without = p;
      without.float_output.valid = false;
      REQUIRE(compare_all(without, simd_mul, spec) == "");
    }
  }
  MESSAGE("mul " << std::string(Policy::name) << ": " << tested << " sets x 65536 pairs, " << fused
                 << " with the fused form, " << float_form << " with the float form");
  CHECK(tested >= random_sets / 2);
  CHECK(fused >= tested / 2);
#if XSIMD_WITH_AVX512BW
  CHECK(float_form >= tested / 3);  // prepare builds the form where the AVX-512 rows exist
#endif
}

}  // namespace

TEST_CASE("add int8, all input pairs: simd == scalar") {
  check_add_sub<qkern::double_rounding, false>(0xADD1);
  check_add_sub<qkern::single_rounding, false>(0xADD2);
}
TEST_CASE("sub int8, all input pairs: simd == scalar") {
  check_add_sub<qkern::double_rounding, true>(0x5B1);
  check_add_sub<qkern::single_rounding, true>(0x5B2);
}
TEST_CASE("mul int8, all input pairs: simd == scalar") {
  check_mul<qkern::double_rounding>(0x3A1);
  check_mul<qkern::single_rounding>(0x3A2);
}
