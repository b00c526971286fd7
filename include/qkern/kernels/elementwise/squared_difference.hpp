// squared_difference (int8), with NumPy broadcasting; no fused activation.
//
// As in add, both inputs are brought to a common scale (pre-shift 2^7, multiplier
// s_i / (2·max(s1, s2)) through Policy::multiply_smaller_than_one_exp); the difference is
// squared and rescaled with one Policy::multiply by (2·max)^2 / (2^14 · s_out).
//
//   auto p = qkern::prepare_squared_difference<std::int8_t>(q1, shape1, q2, shape2, q_out);
//   if (p) qkern::squared_difference(*p, in1, in2, out);
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include "qkern/core/broadcast.hpp"
#include "qkern/core/fused_requantization.hpp"
#include "qkern/core/quantization.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/elementwise/binary_loop.hpp"
#include "qkern/kernels/elementwise/common.hpp"

#if QKERN_SIMD
#include <array>
#include <cstddef>

#include "qkern/simd/convert.hpp"
#include "qkern/simd/fixed_point.hpp"
#include "qkern/simd/fused_requantization.hpp"
#include "qkern/simd/load_widened.hpp"
#include "qkern/simd/multiply_int16_lanes.hpp"
#include "qkern/simd/row_driver.hpp"
#endif

namespace qkern {

template <class T, class Policy = double_rounding>
struct squared_difference_params {
  static_assert(std::is_same<T, std::int8_t>::value, "squared_difference is defined for int8");
  using element_type = T;
  using policy = Policy;
  using multiplier_type = typename Policy::multiplier_type;

  int left_shift = 7;
  std::int32_t input1_offset = 0;  // -zero point of input1
  std::int32_t input2_offset = 0;  // -zero point of input2
  multiplier_type input1_multiplier{};
  multiplier_type input2_multiplier{};
  std::int32_t output_offset = 0;  // +zero point of the output
  multiplier_type output_multiplier{};
  std::int32_t output_activation_min = std::numeric_limits<T>::min();
  std::int32_t output_activation_max = std::numeric_limits<T>::max();
  bool requires_broadcast = false;  // TFLite's flag: the two input shapes differ
  broadcast_plan broadcast{};
  // The SIMD path's forms. Each input's rescale is a fused requantization of q + offset (its
  // pre-shift includes left_shift); it always applies. The output's applies when the squared
  // difference, doubled and shifted left, fits int32 (output multiplier below 1).
  bool has_fused_inputs = false;
  bool has_fused_output = false;
  // An input whose multiplier is exactly 1/2 (the larger scale's) rescales by a plain shift:
  // SRDHM(x * 2^7, 2^30) = x * 2^6, and the shift by 0 leaves it, in both policies.
  bool input1_is_half = false;
  bool input2_is_half = false;
  fused_requantization fused_input1{};
  fused_requantization fused_input2{};
  fused_requantization fused_output{};
};

namespace detail {

// max |q + offset| over int8 q.
constexpr std::int32_t squared_difference_widest(std::int32_t offset) noexcept {
  return offset < 0 ? 128 - offset : 127 + offset;
}

template <class Params>
constexpr void prepare_fused_squared_difference(Params& p) noexcept {
  using Policy = typename Params::policy;
  if constexpr (std::is_same<Policy, double_rounding>::value || std::is_same<Policy, single_rounding>::value) {
    const auto input_form = [&p](const quantized_multiplier& m, std::int32_t widest) {
      auto f = make_fused_requantization<Policy>(m, 0, widest << p.left_shift);
      if (f.ok()) {
        fused_requantization g = *f;
        g.pre_shift += p.left_shift;  // takes q + offset itself
        g.max_abs_input = widest;
        return result<fused_requantization>(g);
      }
      return f;
    };
    const std::int32_t widest1 = squared_difference_widest(p.input1_offset);
    const std::int32_t widest2 = squared_difference_widest(p.input2_offset);
    const auto f1 = input_form(p.input1_multiplier, widest1);
    const auto f2 = input_form(p.input2_multiplier, widest2);
    const quantized_multiplier half{1 << 30, 0};
    p.input1_is_half = p.input1_multiplier == half;
    p.input2_is_half = p.input2_multiplier == half;
    p.has_fused_inputs = f1.ok() && f2.ok();
    if (p.has_fused_inputs) {
      p.fused_input1 = *f1;
      p.fused_input2 = *f2;
    }
    // |v_i| <= |q + offset| * 2^left_shift / 2 + 1 (the multipliers are at most 1/2), so
    // |v1 - v2| <= 32642 and the square stays below 2^30.
    const std::int64_t diff_bound = (std::int64_t{widest1 + widest2} << (p.left_shift - 1)) + 2;
    const std::int64_t square_bound = diff_bound * diff_bound;
    if (square_bound <= std::numeric_limits<std::int32_t>::max()) {
      const auto fo = make_fused_requantization<Policy>(p.output_multiplier, p.output_offset,
                                                        static_cast<std::int32_t>(square_bound));
      p.has_fused_output = fo.ok();
      if (fo.ok()) p.fused_output = *fo;
    }
  }
}

}  // namespace detail

// Fails for invalid quantizations, shapes that do not broadcast, and an output scale so large
// that 2^14 · s_out overflows float32 (TFLM would silently get a zero multiplier).
template <class T, class Policy = double_rounding>
constexpr result<squared_difference_params<T, Policy>> prepare_squared_difference(
    const quantization_params& input1, const shape& input1_shape, const quantization_params& input2,
    const shape& input2_shape, const quantization_params& output) noexcept {
  QKERN_TRY(validate_quantization<T>(input1, "input1"));
  QKERN_TRY(validate_quantization<T>(input2, "input2"));
  QKERN_TRY(validate_quantization<T>(output, "output"));

  squared_difference_params<T, Policy> p;
  const auto plan = make_broadcast_plan(input1_shape, input2_shape);
  if (!plan.ok()) return plan.error().about("input1 and input2");
  p.broadcast = *plan;
  p.requires_broadcast = input1_shape != input2_shape;
  p.input1_offset = -input1.zero_point;
  p.input2_offset = -input2.zero_point;
  p.output_offset = output.zero_point;

  const double twice_max = 2.0 * static_cast<double>(input1.scale > input2.scale ? input1.scale : input2.scale);
  constexpr const char* input_message =
      "scale is too small relative to the other input's: its multiplier underflows to 0";
  const auto m1 = detail::quantize_multiplier_below_one<Policy>(static_cast<double>(input1.scale) / twice_max,
                                                                input_message, "input1");
  if (!m1.ok()) return m1.error();
  const auto m2 = detail::quantize_multiplier_below_one<Policy>(static_cast<double>(input2.scale) / twice_max,
                                                                input_message, "input2");
  if (!m2.ok()) return m2.error();
  p.input1_multiplier = *m1;
  p.input2_multiplier = *m2;

  // TFLM forms the denominator 2^14 · s_out in float32 (exact unless it overflows).
  constexpr float pot = static_cast<float>(1 << 14);
  if (output.scale > std::numeric_limits<float>::max() / pot) {
    return status(status_code::invalid_scale, "scale is too large: 2^14 * scale overflows float32", "output");
  }
  const double real_out = twice_max * twice_max / static_cast<double>(pot * output.scale);
  const auto mo = Policy::quantize(real_out);
  if (!mo.ok()) return mo.error().about("output");
  p.output_multiplier = *mo;
  detail::prepare_fused_squared_difference(p);
  return p;
}

// --- the scalar reference ---------------------------------------------------------------------

template <class T, class Policy>
constexpr T squared_difference_element(const squared_difference_params<T, Policy>& p, T a, T b) noexcept {
  const std::int32_t v1 = Policy::multiply_smaller_than_one_exp((a + p.input1_offset) * (1 << p.left_shift),
                                                                p.input1_multiplier);
  const std::int32_t v2 = Policy::multiply_smaller_than_one_exp((b + p.input2_offset) * (1 << p.left_shift),
                                                                p.input2_multiplier);
  // |v_i| <= 255 · 2^7 / 2 + 1, so the square stays below 2^30. The offset is added in 64 bits:
  // with a positive shift the rescaled square may saturate at INT32_MAX.
  const std::int32_t diff = v1 - v2;
  const std::int64_t raw = std::int64_t{Policy::multiply(diff * diff, p.output_multiplier)} + p.output_offset;
  return detail::clamp_narrow<T>(raw, p.output_activation_min, p.output_activation_max);
}

namespace scalar {

template <class T, class Policy>
constexpr void squared_difference(const squared_difference_params<T, Policy>& p, const T* input1, const T* input2,
                                  T* output) noexcept {
  binary_loop(p.broadcast, input1, input2, output,
              [&p](T a, T b) { return squared_difference_element(p, a, b); });
}

}  // namespace scalar

// --- the SIMD path ---------------------------------------------------------------------------

#if QKERN_SIMD
namespace simd {
namespace detail {

// One row of squared_difference: both inputs widened to int32 and rescaled (a shift for an
// operand whose multiplier is exactly 1/2, else its fused form), the difference squared
// (|diff| < 2^15, so a 16x16 multiply is exact), then the output requantization (fused, or the
// vector Policy::multiply pre-clamped so that adding the zero point cannot overflow), a
// saturating narrow and the clamp.
template <class A, class Policy, bool FirstIsHalf, bool SecondIsHalf, bool FusedOutput>
struct squared_difference_row {
  using params = squared_difference_params<std::int8_t, Policy>;
  using first_type = std::int8_t;
  using second_type = std::int8_t;
  using output_type = std::int8_t;
  using bytes = xsimd::batch<std::int8_t, A>;
  using dwords = xsimd::batch<std::int32_t, A>;
  using quarters = std::array<dwords, 4>;
  static constexpr std::size_t lanes = bytes::size;

  const params* p;  // for the scalar spec
  fused_requantization input1;
  fused_requantization input2;
  fused_requantization output;
  typename params::multiplier_type output_multiplier;
  std::int32_t offset1;
  std::int32_t offset2;
  std::int32_t output_offset;
  int half_shift;
  std::int8_t activation_min;
  std::int8_t activation_max;

  explicit squared_difference_row(const params& q) noexcept
      : p(&q),
        input1(q.fused_input1),
        input2(q.fused_input2),
        output(q.fused_output),
        output_multiplier(q.output_multiplier),
        offset1(q.input1_offset),
        offset2(q.input2_offset),
        output_offset(q.output_offset),
        half_shift(q.left_shift - 1),
        activation_min(static_cast<std::int8_t>(q.output_activation_min)),
        activation_max(static_cast<std::int8_t>(q.output_activation_max)) {}

  template <bool IsHalf>
  QKERN_SIMD_STEP dwords rescale(const dwords& x, const fused_requantization& f) const noexcept {
    if constexpr (IsHalf) {
      return x << half_shift;
    } else {
      return simd::apply_fused_requantization(x, f);
    }
  }
  template <bool IsHalf>
  QKERN_SIMD_STEP quarters load(const std::int8_t* q, std::int32_t offset,
                                const fused_requantization& f) const noexcept {
    constexpr std::size_t quarter = dwords::size;
    const dwords o(offset);
    quarters x;
    for (std::size_t k = 0; k < 4; ++k) x[k] = rescale<IsHalf>(simd::load_widened<A>(q + k * quarter) + o, f);
    return x;
  }
  template <bool IsHalf>
  QKERN_SIMD_STEP quarters splat(std::int8_t q, std::int32_t offset, const fused_requantization& f) const noexcept {
    const dwords v = rescale<IsHalf>(dwords(q) + dwords(offset), f);
    return {v, v, v, v};
  }
  QKERN_SIMD_STEP quarters load_first(const std::int8_t* q) const noexcept {
    return load<FirstIsHalf>(q, offset1, input1);
  }
  QKERN_SIMD_STEP quarters load_second(const std::int8_t* q) const noexcept {
    return load<SecondIsHalf>(q, offset2, input2);
  }
  QKERN_SIMD_STEP quarters splat_first(std::int8_t q) const noexcept { return splat<FirstIsHalf>(q, offset1, input1); }
  QKERN_SIMD_STEP quarters splat_second(std::int8_t q) const noexcept {
    return splat<SecondIsHalf>(q, offset2, input2);
  }

  QKERN_SIMD_STEP dwords requantize(const dwords& square) const noexcept {
    if constexpr (FusedOutput) {
      return simd::apply_fused_requantization(square, output);
    } else {
      // The result is clamped to int8 in the end: bounding it to +-2^16 first changes no
      // output and keeps the zero point's addition inside int32 (the multiply may saturate).
      constexpr std::int32_t bound = 1 << 16;
      const dwords scaled = simd::multiply<Policy>(square, output_multiplier);
      return xsimd::clip(scaled, dwords(-bound), dwords(bound)) + dwords(output_offset);
    }
  }

  QKERN_SIMD_STEP void store(const quarters& a, const quarters& b, std::int8_t* out) const noexcept {
    quarters r;
    for (std::size_t k = 0; k < 4; ++k) {
      const dwords diff = a[k] - b[k];
      r[k] = requantize(simd::multiply_int16_lanes(diff, diff));
    }
    const bytes narrowed = simd::saturating_narrow<std::int8_t>(r[0], r[1], r[2], r[3]);
    xsimd::min(xsimd::max(narrowed, bytes(activation_min)), bytes(activation_max)).store_unaligned(out);
  }
  std::int8_t element(std::int8_t a, std::int8_t b) const noexcept { return squared_difference_element(*p, a, b); }
};

template <class A, class Policy, bool FirstIsHalf, bool SecondIsHalf, bool FusedOutput, class T>
void squared_difference_rows(const squared_difference_params<T, Policy>& p, const T* input1, const T* input2,
                             T* output) noexcept {
  run_binary_rows(squared_difference_row<A, Policy, FirstIsHalf, SecondIsHalf, FusedOutput>(p), p.broadcast, input1,
                  input2, output);
}

}  // namespace detail

// The vector path for arch A: bit-identical to scalar::squared_difference. Parameters outside
// the fused input forms (a hand-built multiplier above 1/2) run the scalar reference.
template <class A = default_arch, class T, class Policy>
void squared_difference(const squared_difference_params<T, Policy>& p, const T* input1, const T* input2,
                        T* output) noexcept {
  // The fused forms of the inputs are exact for a half operand too: the shift only saves work.
  if (!p.has_fused_inputs) {
    scalar::squared_difference(p, input1, input2, output);
  } else if (!p.has_fused_output) {
    detail::squared_difference_rows<A, Policy, false, false, false>(p, input1, input2, output);
  } else if (p.input1_is_half) {
    detail::squared_difference_rows<A, Policy, true, false, true>(p, input1, input2, output);
  } else if (p.input2_is_half) {
    detail::squared_difference_rows<A, Policy, false, true, true>(p, input1, input2, output);
  } else {
    detail::squared_difference_rows<A, Policy, false, false, true>(p, input1, input2, output);
  }
}

}  // namespace simd
#endif  // QKERN_SIMD

// --- the public eval -------------------------------------------------------------------------

// output = (input1 - input2)^2, broadcast; output holds p.broadcast.output_count elements.
// Runs the SIMD path when qkern is built with it, else the scalar reference; both give the same bits.
template <class T, class Policy>
void squared_difference(const squared_difference_params<T, Policy>& p, const T* input1, const T* input2,
                        T* output) noexcept {
#if QKERN_SIMD
  simd::squared_difference(p, input1, input2, output);
#else
  scalar::squared_difference(p, input1, input2, output);
#endif
}

}  // namespace qkern
