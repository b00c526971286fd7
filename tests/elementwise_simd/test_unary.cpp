// quantize (float -> int8/int16), dequantize (int8/int16 -> float) and requantize (every type
// pair): SIMD == scalar on random counts (below, at and around one vector), random
// quantizations and extreme data: rounding ties, NaN, infinities, subnormals, saturation.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "cases.hpp"

namespace {

using namespace qkern_ew_test;

// A count: below, at and around a vector of bytes, or up to 3000.
template <class Source>
std::int64_t draw_count(Source& src) {
  switch (src.in_range(0, 4)) {
    case 0: return src.in_range(0, 9);
    case 1: return byte_lanes + src.in_range(-3, 3);
    case 2: return 4 * byte_lanes + src.in_range(-5, 5);
    default: return src.in_range(0, max_case_elements);
  }
}

// The shape of a tensor with `count` elements, of a random rank.
template <class Source>
qkern::shape shape_of(Source& src, std::int64_t count) {
  qkern::shape s;
  s.rank = static_cast<int>(src.in_range(count == 1 ? 0 : 1, qkern::max_rank));
  for (int d = 0; d < s.rank; ++d) s.dims[d] = 1;
  if (s.rank > 0) s.dims[src.in_range(0, s.rank - 1)] = static_cast<std::int32_t>(count);
  return s;
}

template <class T, class Params, class In, class ScalarEval, class SimdEval>
std::string run_unary_case(const Params& p, const std::vector<In>& in, const std::string& what, ScalarEval scalar_eval,
                           SimdEval simd_eval) {
  guarded_output<T> expected(p.count);
  guarded_output<T> got(p.count);
  scalar_eval(p, in.data(), expected.get());
  simd_eval(p, in.data(), got.get());
  const std::string diff = compare_outputs(expected, got);
  if (diff.empty()) return {};
  return what + ", " + std::to_string(p.count) + " elements: " + diff;
}

// --- quantize -----------------------------------------------------------------------------

// Floats that exercise the rounding and saturation: (k + f) * scale for k around the output
// range and fractions at and next to 1/2 (exact ties when the scale is a power of two), plus
// zeros, subnormals, huge values, infinities and NaN.
template <class T>
std::vector<float> quantize_inputs(std::int64_t n, std::uint64_t seed, float scale) {
  splitmix rng(seed);
  constexpr std::int64_t range = std::is_same<T, std::int8_t>::value ? 300 : 70000;
  const float fractions[] = {0.0f, 0.5f, 0.49999997f, 0.50000006f, 0.25f, 0.75f, 0.99999994f};
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) {
    switch (rng.in_range(0, 9)) {
      case 0: {
        const float specials[] = {0.0f,
                                  -0.0f,
                                  std::numeric_limits<float>::infinity(),
                                  -std::numeric_limits<float>::infinity(),
                                  std::numeric_limits<float>::quiet_NaN(),
                                  -std::numeric_limits<float>::quiet_NaN(),
                                  std::numeric_limits<float>::max(),
                                  -std::numeric_limits<float>::max(),
                                  std::numeric_limits<float>::denorm_min(),
                                  -std::numeric_limits<float>::denorm_min(),
                                  2147483648.0f,
                                  -2147483648.0f,
                                  65536.0f * scale,
                                  -65536.5f * scale,
                                  1e10f,
                                  -1e10f};
        x = specials[rng.in_range(0, 15)];
        break;
      }
      case 1:
      case 2:
      case 3: {
        const auto k = static_cast<float>(rng.in_range(-range, range));
        const float f = fractions[rng.in_range(0, 6)];
        x = (k + (k < 0 ? -f : f)) * scale;
        break;
      }
      default: {
        const double u = static_cast<double>(rng.in_range(-(std::int64_t{1} << 40), std::int64_t{1} << 40)) /
                         static_cast<double>(std::int64_t{1} << 40);
        x = static_cast<float>(u * static_cast<double>(range) * static_cast<double>(scale));
        break;
      }
    }
  }
  return v;
}

template <class T, class Source>
std::string quantize_case(Source& src) {
  const std::int64_t n = draw_count(src);
  // Powers of two make the ties exact; tiny and huge scales push quotients past int32.
  const float scale = src.in_range(0, 2) == 0 ? std::ldexp(1.0f, static_cast<int>(src.in_range(-30, 20)))
                                              : draw_scale(src, -40, 30);
  const qkern::quantization_params q{scale, draw_zero_point<T>(src)};
  const auto p = qkern::prepare_quantize<T>(q, shape_of(src, n));
  if (!p.ok()) return skipped_case;
  const std::vector<float> in = quantize_inputs<T>(n, src.data_seed(), scale);
  return run_unary_case<T>(
      *p, in, std::string("quantize to ") + (sizeof(T) == 1 ? "int8" : "int16") + ", q " + to_string(q),
      [](const auto& pp, const float* x, T* y) { qkern::scalar::quantize(pp, x, y); },
      [](const auto& pp, const float* x, T* y) { qkern::simd::quantize<arch>(pp, x, y); });
}

TEST_CASE("quantize: simd == scalar") {
  check_cases("quantize int8", [](auto& src) { return quantize_case<std::int8_t>(src); });
  check_cases("quantize int16", [](auto& src) { return quantize_case<std::int16_t>(src); });
}

// Every float quotient x / scale with scale 1 in [-2^17, 2^17] at a fraction grid of 1/8, plus
// the floats adjacent to each half.
TEST_CASE("quantize: ties and their neighbours over the whole output range") {
  for (const std::int32_t zp : {0, 100, -128, 127}) {
    std::vector<float> in;
    for (std::int64_t k = -(std::int64_t{1} << 17); k <= (std::int64_t{1} << 17); ++k) {
      const float half = static_cast<float>(k) + 0.5f;
      in.push_back(half);
      in.push_back(std::nextafter(half, 0.0f));
      in.push_back(std::nextafter(half, half * 2.0f));
      in.push_back(static_cast<float>(k) + 0.125f * static_cast<float>(k & 7));
    }
    const auto s = qkern::make_shape({static_cast<std::int64_t>(in.size())}).value();
    const auto p8 = qkern::prepare_quantize<std::int8_t>({1.0f, zp}, s).value();
    const auto p16 = qkern::prepare_quantize<std::int16_t>({1.0f, zp}, s).value();
    INFO("zero point " << zp);
    CHECK(run_unary_case<std::int8_t>(
              p8, in, "quantize int8",
              [](const auto& pp, const float* x, std::int8_t* y) { qkern::scalar::quantize(pp, x, y); },
              [](const auto& pp, const float* x, std::int8_t* y) { qkern::simd::quantize<arch>(pp, x, y); }) == "");
    CHECK(run_unary_case<std::int16_t>(
              p16, in, "quantize int16",
              [](const auto& pp, const float* x, std::int16_t* y) { qkern::scalar::quantize(pp, x, y); },
              [](const auto& pp, const float* x, std::int16_t* y) { qkern::simd::quantize<arch>(pp, x, y); }) == "");
  }
}

// --- dequantize ---------------------------------------------------------------------------

template <class T, class Source>
std::string dequantize_case(Source& src) {
  const std::int64_t n = draw_count(src);
  // Scales from subnormal (results underflow) to near FLT_MAX (results overflow to infinity).
  float scale = 0.0f;
  switch (src.in_range(0, 3)) {
    case 0: scale = std::numeric_limits<float>::denorm_min() * static_cast<float>(src.in_range(1, 1 << 20)); break;
    case 1: scale = draw_scale(src, 100, 127); break;
    default: scale = draw_scale(src, -20, 4); break;
  }
  const std::int32_t zp = std::is_same<T, std::int16_t>::value && src.in_range(0, 1) == 0
                              ? static_cast<std::int32_t>(src.in_range(-32768, 32767))
                              : draw_zero_point<T>(src);
  const qkern::quantization_params q{scale, zp};
  const auto p = qkern::prepare_dequantize<T>(q, shape_of(src, n));
  if (!p.ok()) return skipped_case;
  const std::vector<T> in = make_data<T>(n, src.data_seed(), zp);
  return run_unary_case<float>(
      *p, in, std::string("dequantize from ") + (sizeof(T) == 1 ? "int8" : "int16") + ", q " + to_string(q),
      [](const auto& pp, const T* x, float* y) { qkern::scalar::dequantize(pp, x, y); },
      [](const auto& pp, const T* x, float* y) { qkern::simd::dequantize<arch>(pp, x, y); });
}

TEST_CASE("dequantize: simd == scalar") {
  check_cases("dequantize int8", [](auto& src) { return dequantize_case<std::int8_t>(src); });
  check_cases("dequantize int16", [](auto& src) { return dequantize_case<std::int16_t>(src); });
}

// Every int16 value and zero point -32768 / 32767 (|q - zp| up to 65535), for scales with long
// mantissas: the float32 product rounds exactly like the double one.
TEST_CASE("dequantize int16: every value, widest offsets") {
  std::vector<std::int16_t> in;
  for (int v = -32768; v <= 32767; ++v) in.push_back(static_cast<std::int16_t>(v));
  const auto s = qkern::make_shape({65536}).value();
  splitmix rng(99);
  for (int i = 0; i < 24; ++i) {
    const float scale =
        static_cast<float>(std::ldexp(1.0 + static_cast<double>(rng.in_range(1, (1 << 23) - 1)) / (1 << 23),
                                      static_cast<int>(rng.in_range(-149, 100))));
    for (const std::int32_t zp : {-32768, 32767, 0}) {
      const auto p = qkern::prepare_dequantize<std::int16_t>({scale, zp}, s);
      if (!p.ok()) continue;
      INFO("scale " << scale << ", zero point " << zp);
      CHECK(run_unary_case<float>(
                *p, in, "dequantize int16",
                [](const auto& pp, const std::int16_t* x, float* y) { qkern::scalar::dequantize(pp, x, y); },
                [](const auto& pp, const std::int16_t* x, float* y) { qkern::simd::dequantize<arch>(pp, x, y); }) ==
            "");
    }
  }
}

// --- requantize ---------------------------------------------------------------------------

template <class In, class Out, class Policy, class Source>
std::string requantize_case(Source& src) {
  const std::int64_t n = draw_count(src);
  qkern::quantization_params qi{draw_scale(src, -12, 2), draw_zero_point<In>(src)};
  qkern::quantization_params qo{1.0f, draw_zero_point<Out>(src)};
  if (std::is_same<In, std::int16_t>::value && src.in_range(0, 1) == 0) {
    qi.zero_point = static_cast<std::int32_t>(src.in_range(-32768, 32767));  // requantize allows any
  }
  if (std::is_same<Out, std::int16_t>::value && src.in_range(0, 1) == 0) {
    qo.zero_point = static_cast<std::int32_t>(src.in_range(-32768, 32767));
  }
  if (std::is_same<Out, std::int32_t>::value && src.in_range(0, 2) == 0) {
    const std::int32_t big[] = {std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max(),
                                (1 << 30) - 2, (1 << 30) - 1, -(1 << 30) + 2, 1 << 30};
    qo.zero_point = big[src.in_range(0, 5)];
  }
  // s_in / s_out from 2^-34 (flushed to 0) to 2^30 (far outside the fused form).
  switch (src.in_range(0, 5)) {
    case 0: qo.scale = qi.scale; break;  // unit scale: the sign flip for int8 <-> uint8 zero points 128 apart
    case 1:
      qo.scale = static_cast<float>(static_cast<double>(qi.scale) / static_cast<double>(draw_scale(src, 14, 30)));
      break;
    default:
      qo.scale = static_cast<float>(static_cast<double>(qi.scale) / static_cast<double>(draw_scale(src, -34, 14)));
      break;
  }
  if (sizeof(In) == 1 && sizeof(Out) == 1 && !std::is_same<In, Out>::value && src.in_range(0, 2) == 0) {
    qo.scale = qi.scale;
    qo.zero_point = std::is_same<In, std::int8_t>::value ? qi.zero_point + 128 : qi.zero_point - 128;
  }
  const auto p = qkern::prepare_requantize<In, Out, Policy>(qi, qo, shape_of(src, n));
  if (!p.ok()) return skipped_case;
  const std::vector<In> in = make_data<In>(n, src.data_seed(), qi.zero_point);
  const std::string what = std::string("requantize ") + Policy::name + ", in " + to_string(qi) + ", out " +
                           to_string(qo) + (p->has_fused ? "" : " (not fused)") +
                           (p->flip_sign_bit ? " (sign flip)" : "");
  return run_unary_case<Out>(*p, in, what,
                             [](const auto& pp, const In* x, Out* y) { qkern::scalar::requantize(pp, x, y); },
                             [](const auto& pp, const In* x, Out* y) { qkern::simd::requantize<arch>(pp, x, y); });
}

template <class In, class Out>
void check_requantize(const char* name) {
  check_cases(std::string("requantize ") + name + " double",
              [](auto& src) { return requantize_case<In, Out, qkern::double_rounding>(src); });
  check_cases(std::string("requantize ") + name + " single",
              [](auto& src) { return requantize_case<In, Out, qkern::single_rounding>(src); });
}

TEST_CASE("requantize: simd == scalar") {
  check_requantize<std::int8_t, std::int8_t>("int8->int8");
  check_requantize<std::int8_t, std::uint8_t>("int8->uint8");
  check_requantize<std::uint8_t, std::int8_t>("uint8->int8");
  check_requantize<std::int8_t, std::int16_t>("int8->int16");
  check_requantize<std::int8_t, std::int32_t>("int8->int32");
  check_requantize<std::int16_t, std::int8_t>("int16->int8");
  check_requantize<std::int16_t, std::int16_t>("int16->int16");
}

}  // namespace
