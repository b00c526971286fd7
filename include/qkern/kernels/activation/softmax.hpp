// softmax over the last axis: int8 -> int8, int8 -> int16 and int16 -> int16, as TFLite Micro's
// reference kernels compute it.
//
// int8 input: each difference from the row maximum is rescaled to Q5.26 by beta·s_in (a
// left-shifting multiply; differences below diff_min are treated as exp = 0), exponentiated with
// the fixed-point exp of core/fixed_point_math.hpp, summed in Q12.19, and every exp is multiplied
// by the sum's reciprocal. Outputs are fixed: int8 scale 1/256 and zero point -128, int16 scale
// 2^-16 and zero point -32768.
// int16 input: differences are scaled so that [-65535, 0] means [-10, 0], exp and the reciprocal
// of the sum come from the two interpolated tables of kernels/activation/softmax_int16_luts.hpp.
// Zero points 0, output scale 2^-15. This multiply is the one that depends on the rounding policy.
//
//   auto p = qkern::prepare_softmax<std::int8_t, std::int8_t>(q_in, q_out, beta, shape);
//   if (p) qkern::softmax(*p, in, out);   // out has the input's shape
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include "qkern/core/fixed_point.hpp"
#include "qkern/core/fixed_point_math.hpp"
#include "qkern/core/quantization.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/activation/common.hpp"
#include "qkern/kernels/activation/softmax_int16_luts.hpp"

#if QKERN_SIMD
#include "qkern/simd/arch.hpp"
#include "qkern/simd/byte_lookup.hpp"
#include "qkern/simd/constant_evaluation.hpp"
#endif

namespace qkern {

template <class In, class Out>
inline constexpr bool is_supported_softmax =
    (std::is_same<In, std::int8_t>::value && (std::is_same<Out, std::int8_t>::value || std::is_same<Out, std::int16_t>::value)) ||
    (std::is_same<In, std::int16_t>::value && std::is_same<Out, std::int16_t>::value);

namespace detail {

// int8 input: a row's differences from its maximum, d = max - q, take only 256 values, so prepare
// tabulates the two exps the scalar reference computes per element (softmax_exp and its Q12.19
// rescale, both 0 where -d < diff_min, as the scalar excludes them), from the scalar functions
// themselves. The SIMD path reads them. int16 input: none.
template <class In>
struct softmax_exp_tables {};

template <>
struct softmax_exp_tables<std::int8_t> {
  std::int32_t exp_q0_31[256] = {};   // raw q31<0>: exp(beta · s_in · -d)
  std::int32_t exp_q12_19[256] = {};  // raw q31<12>: the summand of the exp sum
};

}  // namespace detail

template <class In, class Out, class Policy = double_rounding>
struct softmax_params {
  static_assert(is_supported_softmax<In, Out>, "softmax supports int8->int8, int8->int16 and int16->int16");
  using input_type = In;
  using output_type = Out;
  using policy = Policy;
  using multiplier_type = typename Policy::multiplier_type;

  // int8 input: beta · s_in · 2^26 (a left shift: TFLite's input_left_shift >= 1);
  // int16 input: beta · s_in · 65535 / 10 (any shift).
  multiplier_type input_multiplier{};
  std::int32_t diff_min = 0;  // int8 input: smaller differences from the row maximum contribute 0
  std::int64_t outer_count = 0;  // rows
  std::int64_t depth = 0;        // extent of the last axis
  detail::softmax_exp_tables<In> exp_tables{};
};

namespace detail {

// TFLite caps beta · s_in · 2^26 below the largest multiplier the build's multiply can take.
template <class Policy>
constexpr double softmax_max_real_multiplier() noexcept {
  return std::is_same<Policy, single_rounding>::value ? 1073741823.0 : 2147483647.0;
}

// floor(31 · 2^26 / 2^left_shift): how far below the row maximum a difference may be before its
// rescaled value leaves Q5.26 (TFLite's CalculateInputRadius with 5 integer bits).
constexpr std::int32_t softmax_input_radius(int left_shift) noexcept {
  return left_shift <= 26 ? (31 << (26 - left_shift)) : (left_shift - 26 < 5 ? 31 >> (left_shift - 26) : 0);
}

// x / 2^exponent rounded to nearest, for exponents up to 63 (beyond TFLite's 31, reached only by
// rows whose exp sum exceeds what TFLite accepts).
constexpr std::int32_t rounding_divide_by_pot_up_to_63(std::int32_t x, int exponent) noexcept {
  if (exponent <= 31) return rounding_divide_by_pot(x, exponent);
  return static_cast<std::int32_t>(rounding_divide_by_pot(std::int64_t{x}, exponent));
}

template <class Out, class Policy>
constexpr q31<0> softmax_exp(const softmax_params<std::int8_t, Out, Policy>& p, std::int32_t difference) noexcept;

}  // namespace detail

// beta is the op's float attribute. Fails for invalid quantizations, a rank-0 input, an output
// quantization other than the fixed one, int16 zero points other than 0, and a beta · s_in too
// small for the int8 rescale (TFLite requires beta · s_in · 2^26 > 1).
template <class In, class Out, class Policy = double_rounding>
constexpr result<softmax_params<In, Out, Policy>> prepare_softmax(const quantization_params& input,
                                                                  const quantization_params& output, float beta,
                                                                  const shape& input_shape) noexcept {
  static_assert(is_supported_softmax<In, Out>, "softmax supports int8->int8, int8->int16 and int16->int16");
  QKERN_TRY(validate_quantization<In>(input, "input"));
  QKERN_TRY(validate_quantization<Out>(output, "output"));
  QKERN_TRY(validate_shape(input_shape, "input"));
  if (input_shape.rank < 1) {
    return status(status_code::invalid_shape, "softmax needs rank >= 1 (it runs over the last axis)", "input");
  }
  softmax_params<In, Out, Policy> p;
  p.depth = input_shape.dims[input_shape.rank - 1];
  p.outer_count = p.depth == 0 ? 0 : input_shape.element_count() / p.depth;

  if constexpr (std::is_same<In, std::int8_t>::value) {
    if constexpr (std::is_same<Out, std::int8_t>::value) {
      QKERN_TRY(detail::require_output_quantization(output, 1.0f / 256.0f, -128, "softmax output scale must be 1/256",
                                                    "softmax output zero point must be -128"));
    } else {
      if (output.zero_point != -32768) {
        return status(status_code::unsupported_parameter, "softmax int16 output zero point must be -32768", "output",
                      output.zero_point);
      }
      const float target = 1.0f / 65536.0f;
      const float distance = output.scale > target ? output.scale - target : target - output.scale;
      if (distance > 0.001f * 1.0f / 65536.0f) {
        return status(status_code::unsupported_parameter, "softmax int16 output scale must be 2^-16 (within 0.1%)",
                      "output");
      }
    }
    double real = static_cast<double>(beta) * static_cast<double>(input.scale) * 67108864.0;  // · 2^26 (Q5.26)
    const double cap = detail::softmax_max_real_multiplier<Policy>();
    if (real > cap) real = cap;
    if (!(real > 1.0)) {
      return status(status_code::invalid_multiplier, "beta · input scale must exceed 2^-26", "beta");
    }
    const auto m = Policy::quantize(real);
    if (!m.ok()) return m.error().about("beta");
    p.input_multiplier = *m;
    p.diff_min = -detail::softmax_input_radius(m->shift);
    for (std::int32_t d = 0; d < 256; ++d) {
      if (-d < p.diff_min) continue;  // excluded: 0 in both tables
      const q31<0> e = detail::softmax_exp(p, -d);
      p.exp_tables.exp_q0_31[d] = e.raw;
      p.exp_tables.exp_q12_19[d] = rescale<12>(e).raw;
    }
  } else {
    if (input.zero_point != 0) {
      return status(status_code::unsupported_parameter, "int16 tensors must have zero point 0", "input",
                    input.zero_point);
    }
    if (output.zero_point != 0) {
      return status(status_code::unsupported_parameter, "int16 tensors must have zero point 0", "output",
                    output.zero_point);
    }
    const float target = 1.0f / 32768.0f;
    const float distance = output.scale > target ? output.scale - target : target - output.scale;
    if (distance > 0.001f * 1.0f / 32768.0f) {
      return status(status_code::unsupported_parameter, "softmax int16 output scale must be 2^-15 (within 0.1%)",
                    "output");
    }
    const double real = static_cast<double>(input.scale) * static_cast<double>(beta) / (10.0 / 65535.0);
    const auto m = Policy::quantize(real);
    if (!m.ok()) return m.error().about("beta");
    p.input_multiplier = *m;
  }
  return p;
}

// --- the scalar reference ---------------------------------------------------------------------

namespace detail {

// exp(beta · s_in · difference) in Q0.31 for a difference >= diff_min.
template <class Out, class Policy>
constexpr q31<0> softmax_exp(const softmax_params<std::int8_t, Out, Policy>& p, std::int32_t difference) noexcept {
  return exp_on_negative_values(q31<5>::from_raw(Policy::multiply(difference, p.input_multiplier)));
}

// exp(difference) in Q0.15 from the exp table; [-65535, 0] after scaling covers [-10, 0].
template <class Policy>
constexpr std::int16_t softmax_int16_exp(const softmax_params<std::int16_t, std::int16_t, Policy>& p,
                                         std::int32_t difference) noexcept {
  const std::int32_t scaled = Policy::multiply(difference, p.input_multiplier);
  const std::int64_t centred = std::int64_t{scaled} + 32767;  // [-65535, 0] -> [-32768, 32767]
  const auto index = static_cast<std::int16_t>(centred < -32768 ? -32768 : (centred > 32767 ? 32767 : centred));
  return interpolate_int16_lut(index, softmax_int16_exp_lut);
}

}  // namespace detail

namespace scalar {

// One row of `depth` elements (int8 input).
template <class Out, class Policy>
constexpr void softmax_row(const softmax_params<std::int8_t, Out, Policy>& p, const std::int8_t* input,
                           Out* output) noexcept {
  std::int32_t row_max = std::numeric_limits<std::int8_t>::min();
  for (std::int64_t c = 0; c < p.depth; ++c) row_max = input[c] > row_max ? input[c] : row_max;

  q31<12> sum_of_exps = q31<12>::zero();
  for (std::int64_t c = 0; c < p.depth; ++c) {
    const std::int32_t difference = input[c] - row_max;
    if (difference >= p.diff_min) sum_of_exps = sum_of_exps + rescale<12>(detail::softmax_exp(p, difference));
  }
  // 1/sum = scale · 2^-bits_over_unit; the output's 2^bits(Out) units fold into one rounding shift.
  const scaled_reciprocal inverse = reciprocal(sum_of_exps.raw, 12);
  const int exponent = inverse.bits_over_unit + 31 - std::numeric_limits<Out>::digits - 1;
  constexpr std::int32_t lowest = std::numeric_limits<Out>::min();
  constexpr std::int32_t highest = std::numeric_limits<Out>::max();
  for (std::int64_t c = 0; c < p.depth; ++c) {
    const std::int32_t difference = input[c] - row_max;
    if (difference < p.diff_min) {
      output[c] = static_cast<Out>(lowest);
      continue;
    }
    const q31<0> probability = inverse.scale * detail::softmax_exp(p, difference);
    const std::int32_t shifted = detail::rounding_divide_by_pot_up_to_63(probability.raw, exponent) + lowest;
    output[c] = static_cast<Out>(shifted > highest ? highest : (shifted < lowest ? lowest : shifted));
  }
}

// One row of `depth` elements (int16 input). The exps are kept in `output` until the sum is known.
template <class Policy>
constexpr void softmax_row(const softmax_params<std::int16_t, std::int16_t, Policy>& p, const std::int16_t* input,
                           std::int16_t* output) noexcept {
  std::int32_t row_max = std::numeric_limits<std::int16_t>::min();
  for (std::int64_t c = 0; c < p.depth; ++c) row_max = input[c] > row_max ? input[c] : row_max;

  std::int32_t sum_of_exps = 0;  // Q16.15
  for (std::int64_t c = 0; c < p.depth; ++c) {
    output[c] = detail::softmax_int16_exp(p, input[c] - row_max);
    sum_of_exps += output[c];
  }
  // sum = 1 + x with x in [0, 1) after normalising; x is recentred to [-1, 1) for the table.
  const int headroom_plus_one = count_leading_zeros(static_cast<std::uint32_t>(sum_of_exps));
  const auto normalised =
      static_cast<std::int32_t>(((std::int64_t{sum_of_exps} << (headroom_plus_one - 1)) + (1 << 13)) >> 14);
  const std::int32_t centred = normalised - ((1 << 15) + (1 << 16));
  const auto index = static_cast<std::int16_t>(centred < -32768 ? -32768 : (centred > 32767 ? 32767 : centred));
  const std::int16_t reciprocal_q15 = detail::interpolate_int16_lut(index, softmax_int16_one_over_one_plus_x_lut);

  const int right_shift = 31 - headroom_plus_one;
  const std::int64_t rounding = std::int64_t{1} << (right_shift - 1);
  for (std::int64_t c = 0; c < p.depth; ++c) {
    const auto scaled = static_cast<std::int32_t>((std::int64_t{output[c]} * reciprocal_q15 + rounding) >> right_shift);
    output[c] = static_cast<std::int16_t>(scaled < 0 ? 0 : (scaled > 32767 ? 32767 : scaled));
  }
}

template <class In, class Out, class Policy>
constexpr void softmax(const softmax_params<In, Out, Policy>& p, const In* input, Out* output) noexcept {
  for (std::int64_t row = 0; row < p.outer_count; ++row) {
    softmax_row(p, input + row * p.depth, output + row * p.depth);
  }
}

}  // namespace scalar

// --- the SIMD path ---------------------------------------------------------------------------

#if QKERN_SIMD
namespace simd {
namespace detail {

// The largest of n int8 values (n >= 1).
template <class A>
std::int32_t reduce_max_int8(const std::int8_t* v, std::int64_t n) noexcept {
  using bytes = xsimd::batch<std::int8_t, A>;
  constexpr auto lanes = static_cast<std::int64_t>(bytes::size);
  std::int32_t largest = std::numeric_limits<std::int8_t>::min();
  std::int64_t i = 0;
  if (n >= lanes) {
    bytes m = bytes::load_unaligned(v);
    for (i = lanes; i + lanes <= n; i += lanes) m = xsimd::max(m, bytes::load_unaligned(v + i));
    alignas(64) std::int8_t lanes_of[bytes::size];
    m.store_aligned(lanes_of);
    for (const std::int8_t x : lanes_of) largest = x > largest ? x : largest;
  }
  for (; i < n; ++i) largest = v[i] > largest ? v[i] : largest;
  return largest;
}

// One int8 row through prepare's exp tables: the same summands and the same per-element
// arithmetic as scalar::softmax_row, with each exp read instead of computed (d = max - q is in
// [0, 255]). An int8 output of 128 or more elements goes through a 256-entry table of this row's
// outputs per d and the vector byte lookup of simd/byte_lookup.hpp.
template <class A, class Out, class Policy>
void softmax_row(const softmax_params<std::int8_t, Out, Policy>& p, const std::int8_t* input, Out* output) noexcept {
  const auto& tables = p.exp_tables;
  const std::int32_t row_max = reduce_max_int8<A>(input, p.depth);
  std::uint32_t sum = 0;  // the scalar's Q12.19 sum wraps: add modulo 2^32
  for (std::int64_t c = 0; c < p.depth; ++c) sum += static_cast<std::uint32_t>(tables.exp_q12_19[row_max - input[c]]);
  const scaled_reciprocal inverse = reciprocal(static_cast<std::int32_t>(sum), 12);
  const int exponent = inverse.bits_over_unit + 31 - std::numeric_limits<Out>::digits - 1;
  constexpr std::int32_t lowest = std::numeric_limits<Out>::min();
  constexpr std::int32_t highest = std::numeric_limits<Out>::max();
  const auto element = [&](std::int32_t d) {
    if (-d < p.diff_min) return static_cast<Out>(lowest);
    const q31<0> probability = inverse.scale * q31<0>::from_raw(tables.exp_q0_31[d]);
    const std::int32_t shifted = ::qkern::detail::rounding_divide_by_pot_up_to_63(probability.raw, exponent) + lowest;
    return static_cast<Out>(shifted > highest ? highest : (shifted < lowest ? lowest : shifted));
  };
  if constexpr (std::is_same<Out, std::int8_t>::value) {
    if (p.depth >= 128) {
      std::int8_t by_difference[256];
      for (std::int32_t d = 0; d < 256; ++d) by_difference[d] = element(d);
      // d as a byte (max - q wraps to its value in [0, 255]), then the lookup in place.
      using bytes = xsimd::batch<std::int8_t, A>;
      constexpr auto lanes = static_cast<std::int64_t>(bytes::size);
      const bytes top(static_cast<std::int8_t>(row_max));
      std::int64_t c = 0;
      for (; c + lanes <= p.depth; c += lanes) (top - bytes::load_unaligned(input + c)).store_unaligned(output + c);
      for (; c < p.depth; ++c) output[c] = static_cast<std::int8_t>(static_cast<std::uint8_t>(row_max - input[c]));
      simd::lookup_int8_table<A>(by_difference, output, output, p.depth);
      return;
    }
  }
  for (std::int64_t c = 0; c < p.depth; ++c) output[c] = element(row_max - input[c]);
}

}  // namespace detail

// The vector path for arch A: int8 input reads prepare's exp tables (bit-identical to
// scalar::softmax); int16 input runs the scalar reference.
template <class A = default_arch, class In, class Out, class Policy>
void softmax(const softmax_params<In, Out, Policy>& p, const In* input, Out* output) noexcept {
  if constexpr (std::is_same<In, std::int8_t>::value) {
    for (std::int64_t row = 0; row < p.outer_count; ++row) {
      detail::softmax_row<A>(p, input + row * p.depth, output + row * p.depth);
    }
  } else {
    scalar::softmax(p, input, output);
  }
}

}  // namespace simd
#endif  // QKERN_SIMD

// --- the public eval -------------------------------------------------------------------------

// output = softmax(input) along the last axis; output has the input's element count. The SIMD
// path when qkern is built with it (the scalar reference in constant expressions); both give
// the same bits.
template <class In, class Out, class Policy>
constexpr void softmax(const softmax_params<In, Out, Policy>& p, const In* input, Out* output) noexcept {
#if QKERN_SIMD
  if (!simd::in_constant_evaluation()) {
    simd::softmax(p, input, output);
    return;
  }
#endif
  scalar::softmax(p, input, output);
}

}  // namespace qkern
