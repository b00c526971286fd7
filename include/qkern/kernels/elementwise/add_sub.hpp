// add and sub (int8, int16), with NumPy broadcasting and a fused activation.
//
// Both inputs are brought to a common scale first: each offset value is shifted left by
// `left_shift` (20 for int8, 15 for int16) for headroom and multiplied by s_i / (2·max(s1, s2)),
// a multiplier <= 1/2. The sum (or difference) is then rescaled by
// 2·max(s1, s2) / (2^left_shift · s_out), which must be < 1. All three products use
// Policy::multiply_smaller_than_one_exp, as TFLite's Add/Sub do.
//
//   auto p = qkern::prepare_add<std::int8_t>(q1, shape1, q2, shape2, q_out, fused_activation::relu);
//   if (p) qkern::add(*p, in1, in2, out);   // out holds p->broadcast.output_count elements
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include "qkern/core/activation.hpp"
#include "qkern/core/broadcast.hpp"
#include "qkern/core/fused_requantization.hpp"
#include "qkern/core/quantization.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/elementwise/binary_loop.hpp"
#include "qkern/kernels/elementwise/carry_form.hpp"
#include "qkern/kernels/elementwise/common.hpp"

#if QKERN_SIMD
#include <array>
#include <cstddef>

#include "qkern/kernels/elementwise/scalar_operand_table.hpp"
#include "qkern/simd/convert.hpp"
#include "qkern/simd/fixed_point.hpp"
#include "qkern/simd/fused_requantization.hpp"
#include "qkern/simd/load_widened.hpp"
#include "qkern/simd/load_int32_lanes.hpp"
#include "qkern/simd/row_driver.hpp"
#include "qkern/simd/x86_avx512_binary_int8.hpp"
#include "qkern/simd/x86_avx512_carry_form.hpp"
#endif

namespace qkern {
namespace detail {

// The fields add and sub share (TFLite's ArithmeticParams for these ops).
template <class T, class Policy>
struct add_sub_fields {
  static_assert(is_int8_or_int16<T>, "add and sub are defined for int8 and int16");
  using element_type = T;
  using policy = Policy;
  using multiplier_type = typename Policy::multiplier_type;

  int left_shift = 0;              // 20 (int8) or 15 (int16)
  std::int32_t input1_offset = 0;  // -zero point of input1
  std::int32_t input2_offset = 0;  // -zero point of input2
  multiplier_type input1_multiplier{};
  multiplier_type input2_multiplier{};
  std::int32_t output_offset = 0;  // +zero point of the output
  multiplier_type output_multiplier{};
  std::int32_t output_activation_min = 0;
  std::int32_t output_activation_max = 0;
  bool requires_broadcast = false;  // TFLite's flag: the two input shapes differ
  broadcast_plan broadcast{};
#if QKERN_SIMD
  // The SIMD path's forms (int8 only). The operand with the larger scale has a multiplier of
  // exactly 1/2 (2^30, shift 0), so its rescale is exactly (q + offset) << (left_shift - 1); the
  // other's fused form takes q + offset directly (its pre-shift includes left_shift).
  bool has_fused = false;
  bool input1_is_half = false;
  bool input2_is_half = false;
  fused_requantization fused_input1{};
  fused_requantization fused_input2{};
  fused_requantization fused_output{};
  // The table form of X = v1 +- v2 (int8, see prepare_add_sub_table_form), used by the AVX-512
  // VBMI rows where the carry form does not exist. y is the half operand (input1 when
  // table_first_is_half), x the other; then
  //   2^pre_shift X = [256 x, 256 y] . c[0..1] + [x + 128, r(x) + 128] . c[2..3] + table_constant
  // with pre_shift = fused_output.pre_shift and table_residual[uint8(x)] = r(x) + 128.
  bool has_table_form = false;
  bool table_first_is_half = false;
  std::int16_t table_coefficients[4] = {};
  std::int32_t table_constant = 0;
  std::uint8_t table_residual[256] = {};
  // The whole op as byte tables and a carry (int8; kernels/elementwise/carry_form.hpp): the
  // AVX-512 VBMI rows' first choice.
  int8_carry_form carry_form{};
#endif
};

template <class T>
inline constexpr int add_sub_left_shift = std::is_same<T, std::int8_t>::value ? 20 : 15;

template <class Policy, class M>
constexpr std::int32_t add_sub_rescale(std::int32_t q, std::int32_t offset, int left_shift, const M& m) noexcept;

#if QKERN_SIMD

// The fused forms of an int8 add/sub (see add_sub_fields); leaves has_fused false when any of
// them does not apply.
template <class Params>
constexpr void prepare_fused_add_sub(Params& p) noexcept {
  using Policy = typename Params::policy;
  const auto input_form = [&p](const quantized_multiplier& m, std::int32_t widest_offset) {
    auto f = make_fused_requantization<Policy>(m, 0, widest_offset << p.left_shift);
    if (f.ok()) {
      fused_requantization g = *f;
      g.pre_shift += p.left_shift;  // takes q + offset itself: the left shift moves into the pre-shift
      g.max_abs_input = widest_offset;
      return result<fused_requantization>(g);
    }
    return f;
  };
  const quantized_multiplier half{1 << 30, 0};
  const std::int32_t widest1 = widest_int8_offset_value(p.input1_offset);
  const std::int32_t widest2 = widest_int8_offset_value(p.input2_offset);
  const auto f1 = input_form(p.input1_multiplier, widest1);
  const auto f2 = input_form(p.input2_multiplier, widest2);
  // Each rescaled input is at most |q + offset| * 2^(left_shift - 1) plus one for rounding.
  const std::int32_t raw_bound = ((widest1 + widest2) << (p.left_shift - 1)) + 2;
  const auto fo = make_fused_requantization<Policy>(p.output_multiplier, p.output_offset, raw_bound);
  if (!f1.ok() || !f2.ok() || !fo.ok()) return;
  p.fused_input1 = *f1;
  p.fused_input2 = *f2;
  p.fused_output = *fo;
  p.input1_is_half = p.input1_multiplier == half;
  p.input2_is_half = p.input2_multiplier == half;
  p.has_fused = p.input1_is_half || p.input2_is_half;
}

// The table form (see add_sub_fields): with y the half operand and x the other,
//   X = v1 +- v2 = H (y + o_h) + G(x),   H = +-2^(left_shift - 1),  G(x) = +-(x's rescaled value),
// and G(x) = beta x + gamma + r(x) for an integer slope beta (split beta = 256 beta_hi + beta_lo,
// 0 <= beta_lo < 256) and a residual r(x) in [-128, 127]. Then
//   X = 256 x beta_hi + 256 y (H / 256) + (x + 128) beta_lo + (r(x) + 128) + K,
//   K = H o_h + gamma - 128 beta_lo - 128,
// an identity of integers that holds by construction of r. Everything is scaled by the output's
// pre-shift; the form is kept only if every coefficient fits int16 and K fits int32 (else
// has_table_form stays false and the kernels use the other paths).
template <class Params>
constexpr void prepare_add_sub_table_form(Params& p, bool subtract) noexcept {
  using Policy = typename Params::policy;
  if (!p.has_fused) return;
  const bool first_is_half = p.input1_is_half;
  const std::int64_t half = std::int64_t{1} << (p.left_shift - 1);
  const std::int64_t h = first_is_half || !subtract ? half : -half;
  const std::int64_t sign_g = first_is_half && subtract ? -1 : 1;
  const std::int32_t offset_h = first_is_half ? p.input1_offset : p.input2_offset;
  const std::int32_t offset_x = first_is_half ? p.input2_offset : p.input1_offset;
  const auto& m_x = first_is_half ? p.input2_multiplier : p.input1_multiplier;
  std::int64_t g[256] = {};
  for (int x = -128; x < 128; ++x) {
    g[x + 128] = sign_g * add_sub_rescale<Policy>(x, offset_x, p.left_shift, m_x);
  }
  const std::int64_t rise = g[255] - g[0];
  const std::int64_t beta = rise >= 0 ? (rise + 127) / 255 : -((-rise + 127) / 255);
  std::int64_t low = INT64_MAX;
  std::int64_t high = INT64_MIN;
  for (int x = -128; x < 128; ++x) {
    const std::int64_t r = g[x + 128] - beta * x;
    low = r < low ? r : low;
    high = r > high ? r : high;
  }
  if (high - low > 255) return;
  const std::int64_t beta_hi = beta >= 0 ? beta / 256 : -((-beta + 255) / 256);  // floor
  const std::int64_t beta_lo = beta - 256 * beta_hi;
  const std::int64_t scale = std::int64_t{1} << p.fused_output.pre_shift;
  // gamma = low + 128, so r(x) + 128 = G(x) - beta x - low and K = H o_h + low - 128 beta_lo.
  const std::int64_t coefficients[4] = {beta_hi * scale, (h / 256) * scale, beta_lo * scale, scale};
  const std::int64_t constant = (h * offset_h + low - 128 * beta_lo) * scale;
  for (const std::int64_t c : coefficients) {
    if (c < INT16_MIN || c > INT16_MAX) return;
  }
  if (constant < INT32_MIN || constant > INT32_MAX) return;
  for (int k = 0; k < 4; ++k) p.table_coefficients[k] = static_cast<std::int16_t>(coefficients[k]);
  p.table_constant = static_cast<std::int32_t>(constant);
  for (int x = -128; x < 128; ++x) {
    p.table_residual[static_cast<std::uint8_t>(x)] = static_cast<std::uint8_t>(g[x + 128] - beta * x - low);
  }
  p.table_first_is_half = first_is_half;
  p.has_table_form = true;
}

// The carry form of the whole op (see carry_form.hpp), from the scalar spec's per-input values.
template <class Params>
constexpr void prepare_add_sub_carry_form(Params& p, bool subtract) noexcept {
  using Policy = typename Params::policy;
  p.carry_form = int8_carry_form{};
  if (!p.has_fused) return;
  std::int32_t v1[256] = {};
  std::int32_t v2[256] = {};
  for (int x = -128; x < 128; ++x) {
    const auto index = static_cast<std::uint8_t>(x);
    v1[index] = add_sub_rescale<Policy>(x, p.input1_offset, p.left_shift, p.input1_multiplier);
    const std::int32_t second = add_sub_rescale<Policy>(x, p.input2_offset, p.left_shift, p.input2_multiplier);
    v2[index] = subtract ? -second : second;
  }
  p.carry_form = make_int8_carry_form(v1, v2, p.fused_output);
}

// Every SIMD form of an int8 add/sub, from the multipliers and offsets in p (tests that set
// multipliers directly call this again).
template <class Params>
constexpr void prepare_add_sub_fast_forms(Params& p, bool subtract) noexcept {
  p.has_fused = p.has_table_form = false;
  prepare_fused_add_sub(p);
  prepare_add_sub_table_form(p, subtract);
  prepare_add_sub_carry_form(p, subtract);
}
#endif  // QKERN_SIMD

// `single_precision`: TFLM's Sub forms the real multipliers with float32 divisions (then widens
// them), Add with double ones; the two can differ in the multiplier's last bits.
template <class Params, bool single_precision, bool subtract>
constexpr result<Params> prepare_add_sub(const quantization_params& input1, const shape& input1_shape,
                                         const quantization_params& input2, const shape& input2_shape,
                                         const quantization_params& output, fused_activation activation) noexcept {
  using T = typename Params::element_type;
  using Policy = typename Params::policy;
  QKERN_TRY(validate_quantization<T>(input1, "input1"));
  QKERN_TRY(validate_quantization<T>(input2, "input2"));
  QKERN_TRY(validate_quantization<T>(output, "output"));
  QKERN_TRY(require_zero_point_zero_for_int16<T>(input1, "input1"));
  QKERN_TRY(require_zero_point_zero_for_int16<T>(input2, "input2"));
  QKERN_TRY(require_zero_point_zero_for_int16<T>(output, "output"));

  Params p;
  const auto plan = make_broadcast_plan(input1_shape, input2_shape);
  if (!plan.ok()) return plan.error().about("input1 and input2");
  p.broadcast = *plan;
  p.requires_broadcast = input1_shape != input2_shape;

  p.left_shift = add_sub_left_shift<T>;
  p.input1_offset = -input1.zero_point;
  p.input2_offset = -input2.zero_point;
  p.output_offset = output.zero_point;

  double real1 = 0.0;
  double real2 = 0.0;
  double real_out = 0.0;
  if constexpr (single_precision) {
    constexpr float float_max = std::numeric_limits<float>::max();
    const float max_scale = input1.scale > input2.scale ? input1.scale : input2.scale;
    if (max_scale > float_max / 2.0f) {
      return status(status_code::invalid_scale, "scale is too large: 2 * scale overflows float32",
                    input1.scale > input2.scale ? "input1" : "input2");
    }
    const float pot = static_cast<float>(1 << p.left_shift);
    if (output.scale > float_max / pot) {
      return status(status_code::invalid_scale, "scale is too large: 2^left_shift * scale overflows float32",
                    "output");
    }
    const float twice_max = 2.0f * max_scale;
    real1 = static_cast<double>(input1.scale / twice_max);
    real2 = static_cast<double>(input2.scale / twice_max);
    real_out = static_cast<double>(twice_max / (pot * output.scale));
  } else {
    const double twice_max = 2.0 * static_cast<double>(input1.scale > input2.scale ? input1.scale : input2.scale);
    real1 = static_cast<double>(input1.scale) / twice_max;
    real2 = static_cast<double>(input2.scale) / twice_max;
    real_out = twice_max / (static_cast<double>(1 << p.left_shift) * static_cast<double>(output.scale));
  }

  constexpr const char* input_message =
      "scale is too small relative to the other input's: its multiplier underflows to 0";
  const auto m1 = quantize_multiplier_below_one<Policy>(real1, input_message, "input1");
  if (!m1.ok()) return m1.error();
  const auto m2 = quantize_multiplier_below_one<Policy>(real2, input_message, "input2");
  if (!m2.ok()) return m2.error();
  if (!(real_out > 0.0)) {
    return status(status_code::invalid_scale,
                  "scale is too large relative to the input scales: the output multiplier underflows to 0",
                  "output");
  }
  const auto mo = quantize_multiplier_below_one<Policy>(
      real_out,
      "scale is too small: it must exceed 2 * max(input scales) / 2^left_shift (20 for int8, 15 for int16) so that "
      "the output multiplier is below 1",
      "output");
  if (!mo.ok()) return mo.error();
  p.input1_multiplier = *m1;
  p.input2_multiplier = *m2;
  p.output_multiplier = *mo;

  const auto range = make_activation_range<T>(activation, output);
  if (!range.ok()) return range.error();
  p.output_activation_min = range->min;
  p.output_activation_max = range->max;
#if QKERN_SIMD
  if constexpr (std::is_same<T, std::int8_t>::value) prepare_add_sub_fast_forms(p, subtract);
#endif
  return p;
}

// One input's value on the common scale. |q + offset| <= 255 (int8) or 2^15 (int16, zero point
// 0), so the pre-shifted value stays below 2^30 and no step of add/sub can overflow int32.
template <class Policy, class M>
constexpr std::int32_t add_sub_rescale(std::int32_t q, std::int32_t offset, int left_shift, const M& m) noexcept {
  return Policy::multiply_smaller_than_one_exp((q + offset) * (1 << left_shift), m);
}

}  // namespace detail

template <class T, class Policy = double_rounding>
struct add_params : detail::add_sub_fields<T, Policy> {};

template <class T, class Policy = double_rounding>
struct sub_params : detail::add_sub_fields<T, Policy> {};

// T is std::int8_t or std::int16_t (int16: every zero point must be 0). Fails for invalid
// scales or zero points, shapes that do not broadcast, or an output scale at or below
// 2·max(s1, s2) / 2^left_shift (the output multiplier must be < 1).
template <class T, class Policy = double_rounding>
constexpr result<add_params<T, Policy>> prepare_add(const quantization_params& input1, const shape& input1_shape,
                                                    const quantization_params& input2, const shape& input2_shape,
                                                    const quantization_params& output,
                                                    fused_activation activation = fused_activation::none) noexcept {
  return detail::prepare_add_sub<add_params<T, Policy>, false, false>(input1, input1_shape, input2, input2_shape, output,
                                                               activation);
}

// As prepare_add; computes input1 - input2.
template <class T, class Policy = double_rounding>
constexpr result<sub_params<T, Policy>> prepare_sub(const quantization_params& input1, const shape& input1_shape,
                                                    const quantization_params& input2, const shape& input2_shape,
                                                    const quantization_params& output,
                                                    fused_activation activation = fused_activation::none) noexcept {
  return detail::prepare_add_sub<sub_params<T, Policy>, true, true>(input1, input1_shape, input2, input2_shape, output,
                                                              activation);
}

// --- the scalar reference ---------------------------------------------------------------------

template <class T, class Policy>
constexpr T add_element(const add_params<T, Policy>& p, T a, T b) noexcept {
  const std::int32_t v1 = detail::add_sub_rescale<Policy>(a, p.input1_offset, p.left_shift, p.input1_multiplier);
  const std::int32_t v2 = detail::add_sub_rescale<Policy>(b, p.input2_offset, p.left_shift, p.input2_multiplier);
  const std::int32_t raw = Policy::multiply_smaller_than_one_exp(v1 + v2, p.output_multiplier) + p.output_offset;
  return detail::clamp_narrow<T>(raw, p.output_activation_min, p.output_activation_max);
}

template <class T, class Policy>
constexpr T sub_element(const sub_params<T, Policy>& p, T a, T b) noexcept {
  const std::int32_t v1 = detail::add_sub_rescale<Policy>(a, p.input1_offset, p.left_shift, p.input1_multiplier);
  const std::int32_t v2 = detail::add_sub_rescale<Policy>(b, p.input2_offset, p.left_shift, p.input2_multiplier);
  const std::int32_t raw = Policy::multiply_smaller_than_one_exp(v1 - v2, p.output_multiplier) + p.output_offset;
  return detail::clamp_narrow<T>(raw, p.output_activation_min, p.output_activation_max);
}

namespace scalar {

template <class T, class Policy>
constexpr void add(const add_params<T, Policy>& p, const T* input1, const T* input2, T* output) noexcept {
  binary_loop(p.broadcast, input1, input2, output, [&p](T a, T b) { return add_element(p, a, b); });
}

template <class T, class Policy>
constexpr void sub(const sub_params<T, Policy>& p, const T* input1, const T* input2, T* output) noexcept {
  binary_loop(p.broadcast, input1, input2, output, [&p](T a, T b) { return sub_element(p, a, b); });
}

}  // namespace scalar

// --- the SIMD path ---------------------------------------------------------------------------

#if QKERN_SIMD
namespace simd {
namespace detail {

// One row of int8 add (Subtract = false) or sub: each input rescaled to the common scale (a
// shift for the operand whose multiplier is exactly 1/2, the fused form for the other), summed
// or subtracted, rescaled to the output with its zero point, narrowed and clamped. Lanes past
// the last full batch go through the scalar spec.
template <class A, class Params, bool Subtract, bool FirstIsHalf>
struct add_sub_int8_row {
  using bytes = xsimd::batch<std::int8_t, A>;
  using dwords = xsimd::batch<std::int32_t, A>;
  using quarters = std::array<dwords, 4>;

  const Params& p;

  // Both inputs on the common scale: the half operand by a shift, the other by its fused form.
  template <bool IsHalf>
  quarters rescale(quarters x, const fused_requantization& f) const noexcept {
    for (auto& v : x) {
      if constexpr (IsHalf) {
        v = v << (p.left_shift - 1);
      } else {
        v = simd::apply_fused_requantization(v, f);
      }
    }
    return x;
  }
  static quarters load(const std::int8_t* q, std::int32_t offset) noexcept {
    constexpr std::size_t quarter = dwords::size;
    const dwords o(offset);
    return {simd::load_widened<A>(q) + o, simd::load_widened<A>(q + quarter) + o,
            simd::load_widened<A>(q + 2 * quarter) + o, simd::load_widened<A>(q + 3 * quarter) + o};
  }
  static quarters splat(std::int8_t q, std::int32_t offset) noexcept {
    const dwords x = dwords(q) + dwords(offset);
    return {x, x, x, x};
  }
  quarters v1(const quarters& x) const noexcept { return rescale<FirstIsHalf>(x, p.fused_input1); }
  quarters v2(const quarters& x) const noexcept { return rescale<!FirstIsHalf>(x, p.fused_input2); }

  bytes combine(const quarters& a, const quarters& b) const noexcept {
    quarters out;
    for (std::size_t k = 0; k < 4; ++k) {
      out[k] = simd::apply_fused_requantization(Subtract ? a[k] - b[k] : a[k] + b[k], p.fused_output);
    }
    const bytes narrowed = simd::saturating_narrow<std::int8_t>(out[0], out[1], out[2], out[3]);
    return xsimd::min(xsimd::max(narrowed, bytes(static_cast<std::int8_t>(p.output_activation_min))),
                      bytes(static_cast<std::int8_t>(p.output_activation_max)));
  }

  void operator()(const std::int8_t* a, int a_step, const std::int8_t* b, int b_step, std::int8_t* out,
                  std::int64_t n) const noexcept {
    constexpr std::int64_t lanes = bytes::size;
    std::int64_t i = 0;
    if (a_step == 0) {
      const quarters c1 = v1(splat(a[0], p.input1_offset));
      for (; i + lanes <= n; i += lanes) combine(c1, v2(load(b + i, p.input2_offset))).store_unaligned(out + i);
    } else if (b_step == 0) {
      const quarters c2 = v2(splat(b[0], p.input2_offset));
      for (; i + lanes <= n; i += lanes) combine(v1(load(a + i, p.input1_offset)), c2).store_unaligned(out + i);
    } else {
      for (; i + lanes <= n; i += lanes) {
        combine(v1(load(a + i, p.input1_offset)), v2(load(b + i, p.input2_offset))).store_unaligned(out + i);
      }
    }
    for (; i < n; ++i) {
      if constexpr (Subtract) {
        out[i] = sub_element(p, a[i * a_step], b[i * b_step]);
      } else {
        out[i] = add_element(p, a[i * a_step], b[i * b_step]);
      }
    }
  }
};

// Runs the row kernel whose half operand matches p (one of the two always is: the one with the
// larger scale; with equal scales both are, and either choice is exact).
#if XSIMD_WITH_AVX512BW && defined(__AVX512VBMI__)
template <class A, class Params, bool FirstIsHalf, bool SignCorrection>
void add_sub_int8_avx512(const Params& p, const std::int8_t* input1, const std::int8_t* input2,
                         std::int8_t* output) noexcept {
  if (p.fused_output.zero_point_after != 0) {
    binary_rows(p.broadcast, input1, input2, output,
                avx512_add_sub_int8_row<A, Params, FirstIsHalf, SignCorrection, true>(p));
  } else {
    binary_rows(p.broadcast, input1, input2, output,
                avx512_add_sub_int8_row<A, Params, FirstIsHalf, SignCorrection, false>(p));
  }
}
#endif

template <class A, bool Subtract, class Params, class T>
void add_sub_int8(const Params& p, const T* input1, const T* input2, T* output) noexcept {
  const auto fill = [&p](const T* a, const T* b, T* table) {
    Params same_shape = p;
    same_shape.broadcast = table_fill_plan();
    add_sub_int8<A, Subtract>(same_shape, a, b, table);
  };
  if (run_scalar_operand_table<A>(p.broadcast, input1, input2, output, fill)) return;
#if XSIMD_WITH_AVX512BW && defined(__AVX512VBMI__)
  if constexpr (std::is_base_of<xsimd::avx512bw, A>::value) {
    if (p.carry_form.valid) {
      const std::int32_t lo = p.output_activation_min;
      const std::int32_t hi = p.output_activation_max;
      if (p.carry_form.has_second_part) {
        binary_rows_repeating(avx512_carry_form_row<A, true>(p.carry_form, lo, hi), p.broadcast, input1, input2,
                              output);
      } else {
        binary_rows_repeating(avx512_carry_form_row<A, false>(p.carry_form, lo, hi), p.broadcast, input1, input2,
                              output);
      }
      return;
    }
    if (p.has_table_form) {
      const bool sign = p.fused_output.sign_correction;
      if (p.table_first_is_half) {
        (sign ? add_sub_int8_avx512<A, Params, true, true> : add_sub_int8_avx512<A, Params, true, false>)(
            p, input1, input2, output);
      } else {
        (sign ? add_sub_int8_avx512<A, Params, false, true> : add_sub_int8_avx512<A, Params, false, false>)(
            p, input1, input2, output);
      }
      return;
    }
  }
#endif
  if (p.input1_is_half) {
    binary_rows(p.broadcast, input1, input2, output, add_sub_int8_row<A, Params, Subtract, true>{p});
  } else {
    binary_rows(p.broadcast, input1, input2, output, add_sub_int8_row<A, Params, Subtract, false>{p});
  }
}

// One row of int16 add (Subtract = false) or sub, in int32 lanes with the vector
// multiply_smaller_than_one_exp: each input (q + offset) << 15 rescaled, summed or subtracted,
// rescaled to the output with its zero point, narrowed with saturation and clamped. The operand
// whose multiplier is exactly 1/2 (2^30, shift 0: the larger scale) needs no multiply:
// SRDHM(x * 2^15, 2^30) = x * 2^14 exactly, and the shift by 0 leaves it, in both policies.
template <class A, class Params, bool Subtract>
struct add_sub_int16_row {
  using Policy = typename Params::policy;
  using multiplier = typename Params::multiplier_type;
  using first_type = std::int16_t;
  using second_type = std::int16_t;
  using output_type = std::int16_t;
  using words = xsimd::batch<std::int16_t, A>;
  using dwords = xsimd::batch<std::int32_t, A>;
  using halves = std::array<dwords, 2>;
  static constexpr std::size_t lanes = words::size;

  const Params* p;  // for the scalar spec
  multiplier input1_multiplier;
  multiplier input2_multiplier;
  multiplier output_multiplier;
  std::int32_t input1_offset;
  std::int32_t input2_offset;
  std::int32_t output_offset;
  int left_shift;
  bool first_is_half;
  bool second_is_half;
  std::int16_t activation_min;
  std::int16_t activation_max;

  static constexpr bool is_half(const multiplier& m) noexcept {
    return m.multiplier == (std::int32_t{1} << 30) && m.shift == 0;
  }

  explicit add_sub_int16_row(const Params& q) noexcept
      : p(&q),
        input1_multiplier(q.input1_multiplier),
        input2_multiplier(q.input2_multiplier),
        output_multiplier(q.output_multiplier),
        input1_offset(q.input1_offset),
        input2_offset(q.input2_offset),
        output_offset(q.output_offset),
        left_shift(q.left_shift),
        first_is_half(is_half(q.input1_multiplier)),
        second_is_half(is_half(q.input2_multiplier)),
        activation_min(static_cast<std::int16_t>(q.output_activation_min)),
        activation_max(static_cast<std::int16_t>(q.output_activation_max)) {}

  QKERN_SIMD_STEP halves rescale(halves x, bool half, const multiplier& m) const noexcept {
    for (auto& v : x) {
      v = half ? v << (left_shift - 1) : simd::multiply_smaller_than_one_exp<Policy>(v << left_shift, m);
    }
    return x;
  }
  QKERN_SIMD_STEP static halves load(const std::int16_t* q, std::int32_t offset) noexcept {
    const dwords o(offset);
    return {simd::load_int32_lanes<A>(q) + o, simd::load_int32_lanes<A>(q + dwords::size) + o};
  }
  QKERN_SIMD_STEP static halves splat(std::int16_t q, std::int32_t offset) noexcept {
    const dwords x = dwords(q) + dwords(offset);
    return {x, x};
  }
  QKERN_SIMD_STEP halves load_first(const std::int16_t* q) const noexcept {
    return rescale(load(q, input1_offset), first_is_half, input1_multiplier);
  }
  QKERN_SIMD_STEP halves load_second(const std::int16_t* q) const noexcept {
    return rescale(load(q, input2_offset), second_is_half, input2_multiplier);
  }
  QKERN_SIMD_STEP halves splat_first(std::int16_t q) const noexcept {
    return rescale(splat(q, input1_offset), first_is_half, input1_multiplier);
  }
  QKERN_SIMD_STEP halves splat_second(std::int16_t q) const noexcept {
    return rescale(splat(q, input2_offset), second_is_half, input2_multiplier);
  }

  QKERN_SIMD_STEP void store(const halves& a, const halves& b, std::int16_t* out) const noexcept {
    halves r;
    for (std::size_t k = 0; k < 2; ++k) {
      r[k] = simd::multiply_smaller_than_one_exp<Policy>(Subtract ? a[k] - b[k] : a[k] + b[k], output_multiplier) +
             dwords(output_offset);
    }
    const words narrowed = simd::saturating_narrow<std::int16_t>(r[0], r[1]);
    xsimd::min(xsimd::max(narrowed, words(activation_min)), words(activation_max)).store_unaligned(out);
  }
  std::int16_t element(std::int16_t a, std::int16_t b) const noexcept {
    if constexpr (Subtract) {
      return sub_element(*p, a, b);
    } else {
      return add_element(*p, a, b);
    }
  }
};

template <class A, bool Subtract, class Params>
void add_sub_int16(const Params& p, const std::int16_t* input1, const std::int16_t* input2,
                   std::int16_t* output) noexcept {
  run_binary_rows(add_sub_int16_row<A, Params, Subtract>(p), p.broadcast, input1, input2, output);
}

}  // namespace detail

// The vector paths for arch A: bit-identical to scalar::add and scalar::sub. int8 parameters
// outside the fused forms run the scalar reference.
template <class A = default_arch, class T, class Policy>
void add(const add_params<T, Policy>& p, const T* input1, const T* input2, T* output) noexcept {
  if constexpr (std::is_same<T, std::int8_t>::value) {
    if (p.has_fused) {
      detail::add_sub_int8<A, false>(p, input1, input2, output);
      return;
    }
  }
  if constexpr (std::is_same<T, std::int16_t>::value) {
    detail::add_sub_int16<A, false>(p, input1, input2, output);
    return;
  }
  scalar::add(p, input1, input2, output);
}

template <class A = default_arch, class T, class Policy>
void sub(const sub_params<T, Policy>& p, const T* input1, const T* input2, T* output) noexcept {
  if constexpr (std::is_same<T, std::int8_t>::value) {
    if (p.has_fused) {
      detail::add_sub_int8<A, true>(p, input1, input2, output);
      return;
    }
  }
  if constexpr (std::is_same<T, std::int16_t>::value) {
    detail::add_sub_int16<A, true>(p, input1, input2, output);
    return;
  }
  scalar::sub(p, input1, input2, output);
}

}  // namespace simd
#endif  // QKERN_SIMD

// --- the public eval ------------------------------------------------------------------------

// output = activation(input1 + input2), broadcast; output holds p.broadcast.output_count elements.
// Runs the SIMD path when qkern is built with it, else the scalar reference; both give the same bits.
template <class T, class Policy>
void add(const add_params<T, Policy>& p, const T* input1, const T* input2, T* output) noexcept {
#if QKERN_SIMD
  simd::add(p, input1, input2, output);
#else
  scalar::add(p, input1, input2, output);
#endif
}

// output = activation(input1 - input2), broadcast.
template <class T, class Policy>
void sub(const sub_params<T, Policy>& p, const T* input1, const T* input2, T* output) noexcept {
#if QKERN_SIMD
  simd::sub(p, input1, input2, output);
#else
  scalar::sub(p, input1, input2, output);
#endif
}

}  // namespace qkern
