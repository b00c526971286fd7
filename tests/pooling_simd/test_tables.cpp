// The table-driven activations: the byte lookup itself on random tables and lengths, and int8
// logistic, tanh, hard_swish, logistic_lut and tanh_lut through their SIMD paths and public
// evals against the scalar references, for every int8 input and random quantizations.
#include <doctest/doctest.h>

#include <cstdint>
#include <numeric>
#include <type_traits>
#include <vector>

#include "cases.hpp"
#include "qkern/kernels/activation.hpp"
#include "qkern/simd/byte_lookup.hpp"

using namespace qkern_pool_test;

namespace {

// Every int8 value, several times over and in a shuffled order, plus a ragged tail.
std::vector<std::int8_t> all_inputs(seeded_source& s, std::int64_t extra) {
  std::vector<std::int8_t> v;
  for (int round = 0; round < 3; ++round) {
    for (int q = -128; q <= 127; ++q) v.push_back(static_cast<std::int8_t>(q));
  }
  for (std::size_t i = v.size() - 1; i > 0; --i) {
    std::swap(v[i], v[static_cast<std::size_t>(s.in_range(0, static_cast<std::int64_t>(i)))]);
  }
  for (std::int64_t i = 0; i < extra; ++i) v.push_back(any_value<std::int8_t>(s));
  return v;
}

template <class Params, class Scalar, class Vector, class Public>
void check_unary(const Params& p, const std::vector<std::int8_t>& input, Scalar scalar, Vector vector, Public pub) {
  std::vector<std::int8_t> expected(input.size()), vector_path(input.size()), public_eval(input.size());
  scalar(p, input.data(), expected.data());
  vector(p, input.data(), vector_path.data());
  pub(p, input.data(), public_eval.data());
  INFO("first difference at " << first_difference(vector_path, expected));
  CHECK(vector_path == expected);
  CHECK(public_eval == expected);
}

}  // namespace

TEST_CASE("lookup_int8_table: every length 0..300 and random tables, in place too") {
  seeded_source s(31);
  std::int8_t table[256];
  for (int round = 0; round < 8; ++round) {
    for (auto& t : table) t = any_value<std::int8_t>(s);
    for (std::int64_t n = 0; n <= 300; ++n) {
      std::vector<std::int8_t> in(static_cast<std::size_t>(n));
      for (auto& v : in) v = static_cast<std::int8_t>(s.in_range(-128, 127));
      std::vector<std::int8_t> out(in.size() + 1, 99), expected(in.size() + 1, 99);
      for (std::size_t i = 0; i < in.size(); ++i) expected[i] = table[static_cast<std::uint8_t>(in[i])];
      qkern::simd::lookup_int8_table<arch>(table, in.data(), out.data(), n);
      INFO("length " << n);
      REQUIRE(out == expected);  // the sentinel past the end is untouched
      qkern::simd::lookup_int8_table<arch>(table, in.data(), in.data(), n);
      expected.pop_back();
      REQUIRE(in == expected);
    }
  }
}

TEST_CASE("int8 logistic and tanh (TFLM fixed point): SIMD == scalar for every input") {
  seeded_source s(32);
  for (int i = 0; i < case_count / 4; ++i) {
    const auto q_in = random_quantization<std::int8_t>(s);
    const auto input = all_inputs(s, s.in_range(0, 200));
    const auto shape = qkern::make_shape({static_cast<std::int64_t>(input.size())}).value();
    INFO("input " << q_in.scale << "/" << q_in.zero_point);
    const auto pl = qkern::prepare_logistic<std::int8_t>(q_in, {1.0f / 256.0f, -128}, shape);
    const auto pls = qkern::prepare_logistic<std::int8_t, qkern::single_rounding>(q_in, {1.0f / 256.0f, -128}, shape);
    const auto pt = qkern::prepare_tanh<std::int8_t>(q_in, {1.0f / 128.0f, 0}, shape);
    REQUIRE(pl.ok());
    REQUIRE(pls.ok());
    REQUIRE(pt.ok());
    const auto run = [&](const auto& p, auto scalar, auto vector, auto pub) { check_unary(p, input, scalar, vector, pub); };
    run(*pl, [](const auto& p, auto* x, auto* y) { qkern::scalar::logistic(p, x, y); },
        [](const auto& p, auto* x, auto* y) { qkern::simd::logistic<arch>(p, x, y); },
        [](const auto& p, auto* x, auto* y) { qkern::logistic(p, x, y); });
    run(*pls, [](const auto& p, auto* x, auto* y) { qkern::scalar::logistic(p, x, y); },
        [](const auto& p, auto* x, auto* y) { qkern::simd::logistic<arch>(p, x, y); },
        [](const auto& p, auto* x, auto* y) { qkern::logistic(p, x, y); });
    run(*pt, [](const auto& p, auto* x, auto* y) { qkern::scalar::tanh(p, x, y); },
        [](const auto& p, auto* x, auto* y) { qkern::simd::tanh<arch>(p, x, y); },
        [](const auto& p, auto* x, auto* y) { qkern::tanh(p, x, y); });
  }
}

TEST_CASE("int8 hard_swish: SIMD == scalar for every input") {
  seeded_source s(33);
  int prepared = 0;
  for (int i = 0; i < case_count / 2; ++i) {
    const auto q_in = random_quantization<std::int8_t>(s);
    const auto q_out = random_quantization<std::int8_t>(s);
    const auto input = all_inputs(s, s.in_range(0, 200));
    const auto shape = qkern::make_shape({static_cast<std::int64_t>(input.size())}).value();
    const auto p = qkern::prepare_hard_swish<std::int8_t>(q_in, q_out, shape);
    if (!p.ok()) continue;  // scales TFLite rejects
    ++prepared;
    INFO("input " << q_in.scale << "/" << q_in.zero_point << ", output " << q_out.scale << "/" << q_out.zero_point);
    check_unary(*p, input, [](const auto& pp, auto* x, auto* y) { qkern::scalar::hard_swish(pp, x, y); },
                [](const auto& pp, auto* x, auto* y) { qkern::simd::hard_swish<arch>(pp, x, y); },
                [](const auto& pp, auto* x, auto* y) { qkern::hard_swish(pp, x, y); });
  }
  CHECK(prepared > case_count / 8);
}

TEST_CASE("int8 logistic_lut and tanh_lut: SIMD == scalar") {
  seeded_source s(34);
  for (int i = 0; i < case_count / 4; ++i) {
    const auto q_in = random_quantization<std::int8_t>(s);
    const auto input = all_inputs(s, s.in_range(0, 200));
    const auto shape = qkern::make_shape({static_cast<std::int64_t>(input.size())}).value();
    const auto pl = qkern::prepare_logistic_lut(q_in, {1.0f / 256.0f, -128}, shape);
    const auto pt = qkern::prepare_tanh_lut(q_in, {1.0f / 128.0f, 0}, shape);
    REQUIRE(pl.ok());
    REQUIRE(pt.ok());
    check_unary(*pl, input, [](const auto& p, auto* x, auto* y) { qkern::scalar::int8_lut(p, x, y); },
                [](const auto& p, auto* x, auto* y) { qkern::simd::int8_lut<arch>(p, x, y); },
                [](const auto& p, auto* x, auto* y) { qkern::logistic_lut(p, x, y); });
    check_unary(*pt, input, [](const auto& p, auto* x, auto* y) { qkern::scalar::int8_lut(p, x, y); },
                [](const auto& p, auto* x, auto* y) { qkern::simd::int8_lut<arch>(p, x, y); },
                [](const auto& p, auto* x, auto* y) { qkern::tanh_lut(p, x, y); });
  }
}

namespace {

template <class Out, class Policy>
void check_softmax(seeded_source& s) {
  const std::int64_t depth = s.next() % 3 == 0 ? s.in_range(1, 127) : s.in_range(128, 1100);
  const std::int64_t rows = s.in_range(1, 3);
  const auto shape = qkern::make_shape({rows, depth}).value();
  const qkern::quantization_params q_in{static_cast<float>(s.in_range(1, 4000)) / 4096.0f,
                                        static_cast<std::int32_t>(s.in_range(-128, 127))};
  const qkern::quantization_params q_out = std::is_same<Out, std::int8_t>::value
                                               ? qkern::quantization_params{1.0f / 256.0f, -128}
                                               : qkern::quantization_params{1.0f / 65536.0f, -32768};
  const float beta = static_cast<float>(s.in_range(1, 64)) / 16.0f;
  const auto p = qkern::prepare_softmax<std::int8_t, Out, Policy>(q_in, q_out, beta, shape);
  if (!p.ok()) return;
  const auto input = random_values<std::int8_t>(s, rows * depth);
  std::vector<Out> expected(input.size()), vector_path(input.size()), public_eval(input.size());
  qkern::scalar::softmax(*p, input.data(), expected.data());
  qkern::simd::softmax<arch>(*p, input.data(), vector_path.data());
  qkern::softmax(*p, input.data(), public_eval.data());
  INFO("softmax int8 -> " << sizeof(Out) * 8 << "-bit, " << rows << " x " << depth << ", input " << q_in.scale << "/"
                          << q_in.zero_point << ", beta " << beta << ", first difference at "
                          << first_difference(vector_path, expected));
  CHECK(vector_path == expected);
  CHECK(public_eval == expected);
}

}  // namespace

TEST_CASE("softmax int8 input (exp tables): SIMD == scalar") {
  seeded_source s(35);
  for (int i = 0; i < case_count / 4; ++i) {
    check_softmax<std::int8_t, qkern::double_rounding>(s);
    check_softmax<std::int8_t, qkern::single_rounding>(s);
    check_softmax<std::int16_t, qkern::double_rounding>(s);
    check_softmax<std::int16_t, qkern::single_rounding>(s);
  }
}
