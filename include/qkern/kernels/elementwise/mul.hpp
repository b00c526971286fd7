// mul (int8, int16), with NumPy broadcasting and a fused activation.
//
// The product of the two offset values is in units of s1·s2; one Policy::multiply by
// s1·s2 / s_out (computed in double, any shift) brings it to output units.
//
//   auto p = qkern::prepare_mul<std::int8_t, qkern::single_rounding>(q1, shape1, q2, shape2, q_out);
//   if (p) qkern::mul(*p, in1, in2, out);
#pragma once

#include <cstdint>
#include <type_traits>

#include "qkern/core/activation.hpp"
#include "qkern/core/broadcast.hpp"
#include "qkern/core/fused_requantization.hpp"
#include "qkern/core/quantization.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/elementwise/binary_loop.hpp"
#include "qkern/kernels/elementwise/common.hpp"
#include "qkern/kernels/elementwise/mul_float_form.hpp"

#if QKERN_SIMD
#include <array>

#include "qkern/kernels/elementwise/scalar_operand_table.hpp"
#include "qkern/simd/constant_evaluation.hpp"
#include "qkern/simd/convert.hpp"
#include "qkern/simd/load_widened.hpp"
#include "qkern/simd/fused_requantization.hpp"
#include "qkern/simd/multiply_int16_lanes.hpp"
// the int16 path
#include <cstddef>

#include "qkern/simd/fixed_point.hpp"
#include "qkern/simd/load_int32_lanes.hpp"
#include "qkern/simd/row_driver.hpp"
#include "qkern/simd/x86_avx512_binary_int8.hpp"
#endif

namespace qkern {

template <class T, class Policy = double_rounding>
struct mul_params {
  static_assert(detail::is_int8_or_int16<T>, "mul is defined for int8 and int16");
  using element_type = T;
  using policy = Policy;
  using multiplier_type = typename Policy::multiplier_type;

  std::int32_t input1_offset = 0;  // -zero point of input1
  std::int32_t input2_offset = 0;  // -zero point of input2
  std::int32_t output_offset = 0;  // +zero point of the output
  multiplier_type output_multiplier{};
  std::int32_t output_activation_min = 0;
  std::int32_t output_activation_max = 0;
  broadcast_plan broadcast{};
  // The SIMD path's form of output_multiplier + output_offset (int8 only: its products fit 17
  // bits); has_fused_output is false where the fused form does not apply.
  fused_requantization fused_output{};
  bool has_fused_output = false;
  // The AVX-512 rows' float form of the output step (int8, builds with AVX-512BW;
  // mul_float_form.hpp), checked in prepare against mul_element for every input pair.
  int8_mul_float_form float_output{};
};

// The scalar spec's output before the clamp, for the product of the two offset values.
template <class T, class Policy>
constexpr std::int64_t mul_unclamped(const mul_params<T, Policy>& p, std::int32_t product) noexcept {
  return std::int64_t{Policy::multiply(product, p.output_multiplier)} + p.output_offset;
}

namespace detail {

// The int8 fast forms of p's output step, from its multiplier and offsets (tests that set the
// multiplier directly call this again).
template <class Policy>
constexpr void prepare_mul_fast_forms(mul_params<std::int8_t, Policy>& p) noexcept {
  const auto fused = make_fused_requantization<Policy>(
      p.output_multiplier, p.output_offset,
      widest_int8_offset_value(p.input1_offset) * widest_int8_offset_value(p.input2_offset));
  p.has_fused_output = fused.ok();
  if (fused.ok()) p.fused_output = *fused;
  p.float_output = int8_mul_float_form{};
#if QKERN_SIMD && XSIMD_WITH_AVX512BW
  // 65,536 evaluations of the scalar spec: at run time, and only where the rows that use the
  // form are compiled in.
  if (!simd::in_constant_evaluation()) {
    p.float_output = make_int8_mul_float_form([&p](std::int32_t product) { return mul_unclamped(p, product); },
                                              p.output_multiplier, p.input1_offset, p.input2_offset);
  }
#endif
}

}  // namespace detail

// T is std::int8_t or std::int16_t (int16: every zero point must be 0, as TFLM's Prepare
// requires). Fails for invalid scales or zero points and shapes that do not broadcast.
template <class T, class Policy = double_rounding>
constexpr result<mul_params<T, Policy>> prepare_mul(const quantization_params& input1, const shape& input1_shape,
                                                    const quantization_params& input2, const shape& input2_shape,
                                                    const quantization_params& output,
                                                    fused_activation activation = fused_activation::none) noexcept {
  QKERN_TRY(validate_quantization<T>(input1, "input1"));
  QKERN_TRY(validate_quantization<T>(input2, "input2"));
  QKERN_TRY(validate_quantization<T>(output, "output"));
  QKERN_TRY(detail::require_zero_point_zero_for_int16<T>(input1, "input1"));
  QKERN_TRY(detail::require_zero_point_zero_for_int16<T>(input2, "input2"));
  QKERN_TRY(detail::require_zero_point_zero_for_int16<T>(output, "output"));

  mul_params<T, Policy> p;
  const auto plan = make_broadcast_plan(input1_shape, input2_shape);
  if (!plan.ok()) return plan.error().about("input1 and input2");
  p.broadcast = *plan;
  p.input1_offset = -input1.zero_point;
  p.input2_offset = -input2.zero_point;
  p.output_offset = output.zero_point;

  const double real = static_cast<double>(input1.scale) * static_cast<double>(input2.scale) /
                      static_cast<double>(output.scale);
  const auto m = Policy::quantize(real);
  if (!m.ok()) return m.error().about("output");
  p.output_multiplier = *m;

  const auto range = make_activation_range<T>(activation, output);
  if (!range.ok()) return range.error();
  p.output_activation_min = range->min;
  p.output_activation_max = range->max;

  if constexpr (std::is_same<T, std::int8_t>::value) detail::prepare_mul_fast_forms(p);
  return p;
}

// --- the scalar reference ---------------------------------------------------------------------

template <class T, class Policy>
constexpr T mul_element(const mul_params<T, Policy>& p, T a, T b) noexcept {
  // |product| <= 2^30 (int16 with zero point 0) or 255^2 (int8): it fits int32. The offset is
  // added in 64 bits: with a positive shift the rescaled product may saturate at INT32_MAX.
  const std::int32_t product = (a + p.input1_offset) * (b + p.input2_offset);
  return detail::clamp_narrow<T>(mul_unclamped(p, product), p.output_activation_min, p.output_activation_max);
}

namespace scalar {

template <class T, class Policy>
constexpr void mul(const mul_params<T, Policy>& p, const T* input1, const T* input2, T* output) noexcept {
  binary_loop(p.broadcast, input1, input2, output, [&p](T a, T b) { return mul_element(p, a, b); });
}

}  // namespace scalar

// --- the SIMD path ---------------------------------------------------------------------------

#if QKERN_SIMD
namespace simd {
namespace detail {

// One row of int8 mul: offsets added in int16, products formed in int32 (|product| <= 255^2),
// then the fused requantization, a saturating narrow and the activation clamp. Lanes past the
// last full batch go through the scalar spec.
template <class A, class Policy>
struct mul_int8_row {
  using bytes = xsimd::batch<std::int8_t, A>;
  using dwords = xsimd::batch<std::int32_t, A>;

  const mul_params<std::int8_t, Policy>& p;

  // The `bytes::size` values at v, plus offset, as four int32 batches in lane order.
  static std::array<dwords, 4> widen(const std::int8_t* v, const dwords& offset) noexcept {
    constexpr std::size_t quarter = dwords::size;
    return {simd::load_widened<A>(v) + offset, simd::load_widened<A>(v + quarter) + offset,
            simd::load_widened<A>(v + 2 * quarter) + offset, simd::load_widened<A>(v + 3 * quarter) + offset};
  }
  // One value, plus offset, in every lane.
  static std::array<dwords, 4> broadcast(std::int8_t v, const dwords& offset) noexcept {
    const dwords d = dwords(v) + offset;
    return {d, d, d, d};
  }

  bytes requantize(const std::array<dwords, 4>& a, const std::array<dwords, 4>& b) const noexcept {
    const auto& f = p.fused_output;
    const bytes narrowed = simd::saturating_narrow<std::int8_t>(
        simd::apply_fused_requantization(simd::multiply_int16_lanes(a[0], b[0]), f), simd::apply_fused_requantization(simd::multiply_int16_lanes(a[1], b[1]), f),
        simd::apply_fused_requantization(simd::multiply_int16_lanes(a[2], b[2]), f), simd::apply_fused_requantization(simd::multiply_int16_lanes(a[3], b[3]), f));
    return xsimd::min(xsimd::max(narrowed, bytes(static_cast<std::int8_t>(p.output_activation_min))),
                      bytes(static_cast<std::int8_t>(p.output_activation_max)));
  }

  void operator()(const std::int8_t* a, int a_step, const std::int8_t* b, int b_step, std::int8_t* out,
                  std::int64_t n) const noexcept {
    constexpr std::int64_t lanes = bytes::size;
    const dwords offset1(p.input1_offset);
    const dwords offset2(p.input2_offset);
    std::int64_t i = 0;
    if (a_step == 0) {
      const auto wa = broadcast(a[0], offset1);
      for (; i + lanes <= n; i += lanes) requantize(wa, widen(b + i, offset2)).store_unaligned(out + i);
    } else if (b_step == 0) {
      const auto wb = broadcast(b[0], offset2);
      for (; i + lanes <= n; i += lanes) requantize(widen(a + i, offset1), wb).store_unaligned(out + i);
    } else {
      for (; i + lanes <= n; i += lanes) requantize(widen(a + i, offset1), widen(b + i, offset2)).store_unaligned(out + i);
    }
    for (; i < n; ++i) out[i] = mul_element(p, a[i * a_step], b[i * b_step]);
  }
};

// One row of int16 mul (every zero point 0): the inputs widened to int32 lanes, their exact
// product (|product| <= 2^30, a 16x16 multiply), the vector Policy::multiply, a saturating
// narrow and the clamp. Zero offsets make the scalar spec's 64-bit zero-point addition a no-op.
template <class A, class Policy>
struct mul_int16_row {
  using first_type = std::int16_t;
  using second_type = std::int16_t;
  using output_type = std::int16_t;
  using words = xsimd::batch<std::int16_t, A>;
  using dwords = xsimd::batch<std::int32_t, A>;
  using halves = std::array<dwords, 2>;
  static constexpr std::size_t lanes = words::size;

  const mul_params<std::int16_t, Policy>* p;  // for the scalar spec
  typename Policy::multiplier_type output_multiplier;
  std::int16_t activation_min;
  std::int16_t activation_max;

  explicit mul_int16_row(const mul_params<std::int16_t, Policy>& q) noexcept
      : p(&q),
        output_multiplier(q.output_multiplier),
        activation_min(static_cast<std::int16_t>(q.output_activation_min)),
        activation_max(static_cast<std::int16_t>(q.output_activation_max)) {}

  QKERN_SIMD_STEP static halves load(const std::int16_t* q) noexcept {
    return {simd::load_int32_lanes<A>(q), simd::load_int32_lanes<A>(q + dwords::size)};
  }
  QKERN_SIMD_STEP static halves splat(std::int16_t q) noexcept { return {dwords(q), dwords(q)}; }
  QKERN_SIMD_STEP static halves load_first(const std::int16_t* q) noexcept { return load(q); }
  QKERN_SIMD_STEP static halves load_second(const std::int16_t* q) noexcept { return load(q); }
  QKERN_SIMD_STEP static halves splat_first(std::int16_t q) noexcept { return splat(q); }
  QKERN_SIMD_STEP static halves splat_second(std::int16_t q) noexcept { return splat(q); }

  QKERN_SIMD_STEP void store(const halves& a, const halves& b, std::int16_t* out) const noexcept {
    const dwords r0 = simd::multiply<Policy>(simd::multiply_int16_lanes(a[0], b[0]), output_multiplier);
    const dwords r1 = simd::multiply<Policy>(simd::multiply_int16_lanes(a[1], b[1]), output_multiplier);
    const words narrowed = simd::saturating_narrow<std::int16_t>(r0, r1);
    xsimd::min(xsimd::max(narrowed, words(activation_min)), words(activation_max)).store_unaligned(out);
  }
  std::int16_t element(std::int16_t a, std::int16_t b) const noexcept { return mul_element(*p, a, b); }
};

#if XSIMD_WITH_AVX512BW
template <class A, class Params, class Stage>
void mul_int8_avx512_rows(const Params& p, const Stage& stage, int pre_shift, const std::int8_t* input1,
                          const std::int8_t* input2, std::int8_t* output) noexcept {
  binary_rows_repeating(avx512_mul_int8_row<A, Params, Stage>(p, stage, pre_shift), p.broadcast, input1, input2,
                        output);
}

// The float form where prepare found it, else the fused form (avx512_mul_int8_applies).
template <class A, class Params>
void mul_int8_avx512(const Params& p, const std::int8_t* input1, const std::int8_t* input2,
                     std::int8_t* output) noexcept {
  const std::int32_t lo = p.output_activation_min, hi = p.output_activation_max;
  if (p.float_output.valid) {
    if (p.float_output.split_sign) {
      mul_int8_avx512_rows<A>(p, avx512_mul_float_stage<true>(p.float_output, lo, hi), 0, input1, input2, output);
    } else {
      mul_int8_avx512_rows<A>(p, avx512_mul_float_stage<false>(p.float_output, lo, hi), 0, input1, input2, output);
    }
    return;
  }
  const fused_requantization& f = p.fused_output;
  const int shift = f.pre_shift;
  if (f.sign_correction) {
    if (f.zero_point_after != 0) {
      mul_int8_avx512_rows<A>(p, avx512_int8_output_stage<A, true, true>(f, lo, hi), shift, input1, input2, output);
    } else {
      mul_int8_avx512_rows<A>(p, avx512_int8_output_stage<A, true, false>(f, lo, hi), shift, input1, input2, output);
    }
  } else if (f.zero_point_after != 0) {
    mul_int8_avx512_rows<A>(p, avx512_int8_output_stage<A, false, true>(f, lo, hi), shift, input1, input2, output);
  } else {
    mul_int8_avx512_rows<A>(p, avx512_int8_output_stage<A, false, false>(f, lo, hi), shift, input1, input2, output);
  }
}
#endif

}  // namespace detail

// The vector path for arch A (by default the one the compiler targets): bit-identical to
// scalar::mul. int8 parameters outside the fused form, and int16 ones with nonzero zero points
// (prepare never makes those), run the scalar reference.
template <class A = default_arch, class T, class Policy>
void mul(const mul_params<T, Policy>& p, const T* input1, const T* input2, T* output) noexcept {
  if constexpr (std::is_same<T, std::int8_t>::value) {
    const auto fill = [&p](const T* a, const T* b, T* table) {
      mul_params<T, Policy> same_shape = p;
      same_shape.broadcast = detail::table_fill_plan();
      mul<A>(same_shape, a, b, table);
    };
    if (detail::run_scalar_operand_table<A>(p.broadcast, input1, input2, output, fill)) return;
#if XSIMD_WITH_AVX512BW
    if constexpr (std::is_base_of<xsimd::avx512bw, A>::value) {
      if (p.float_output.valid || detail::avx512_mul_int8_applies(p)) {
        detail::mul_int8_avx512<A>(p, input1, input2, output);
        return;
      }
    }
#endif
    if (p.has_fused_output) {
      binary_rows(p.broadcast, input1, input2, output, detail::mul_int8_row<A, Policy>{p});
      return;
    }
  }
  if constexpr (std::is_same<T, std::int16_t>::value) {
    if (p.input1_offset == 0 && p.input2_offset == 0 && p.output_offset == 0) {
      detail::run_binary_rows(detail::mul_int16_row<A, Policy>(p), p.broadcast, input1, input2, output);
      return;
    }
  }
  scalar::mul(p, input1, input2, output);
}

}  // namespace simd
#endif  // QKERN_SIMD

// --- the public eval -------------------------------------------------------------------------

// output = activation(input1 * input2), broadcast; output holds p.broadcast.output_count elements.
// Runs the SIMD path when qkern is built with it, else the scalar reference; both give the same bits.
template <class T, class Policy>
void mul(const mul_params<T, Policy>& p, const T* input1, const T* input2, T* output) noexcept {
#if QKERN_SIMD
  simd::mul(p, input1, input2, output);
#else
  scalar::mul(p, input1, input2, output);
#endif
}

}  // namespace qkern
