// quantize (float32 -> int8/int16), dequantize (int8/int16 -> float32) and requantize (an
// integer tensor to another quantization and/or integer type: TFLite's QUANTIZE op with an
// integer input). Unary, so no broadcasting: params carry the element count of the shape.
//
//   auto p = qkern::prepare_requantize<std::int8_t, std::int16_t>(q_in, q_out, shape);
//   if (p) qkern::requantize(*p, in, out);   // out holds p->count elements
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include "qkern/core/fused_requantization.hpp"
#include "qkern/core/quantization.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/elementwise/common.hpp"

#if QKERN_SIMD
#include <array>
#include <cstddef>

#include "qkern/simd/byte_lookup.hpp"
#include "qkern/simd/convert.hpp"
#include "qkern/simd/exact_float.hpp"
#include "qkern/simd/fixed_point.hpp"
#include "qkern/simd/fused_requantization.hpp"
#include "qkern/simd/load_int32_lanes.hpp"
#include "qkern/simd/row_driver.hpp"
#endif

namespace qkern {

// --- quantize -------------------------------------------------------------------------------

template <class T>
struct quantize_params {
  static_assert(detail::is_int8_or_int16<T>, "quantize produces int8 or int16");
  using element_type = T;
  float scale = 1.0f;  // of the output
  std::int32_t zero_point = 0;
  std::int64_t count = 0;
};

template <class T>
constexpr result<quantize_params<T>> prepare_quantize(const quantization_params& output,
                                                      const shape& input_shape) noexcept {
  QKERN_TRY(validate_quantization<T>(output, "output"));
  QKERN_TRY(validate_shape(input_shape, "input"));
  quantize_params<T> p;
  p.scale = output.scale;
  p.zero_point = output.zero_point;
  p.count = input_shape.element_count();
  return p;
}

// clamp(round_half_away(x / scale) + zero_point). The division is a float32 division, as in
// TFLM. TFLite leaves |x / scale| >= 2^31 undefined (a float-to-int32 cast); here such values,
// and infinities, saturate to the type's bounds, and NaN quantizes to the zero point (real 0).
template <class T>
constexpr T quantize_element(const quantize_params<T>& p, float x) noexcept {
  const float quotient = x / p.scale;
  if (quotient != quotient) return static_cast<T>(p.zero_point);
  const float magnitude = quotient < 0.0f ? -quotient : quotient;
  std::int64_t rounded = std::int64_t{1} << 31;
  if (magnitude < 2147483648.0f) {
    // The integer part of a float below 2^31 is exact in float, and so is the fraction.
    const auto whole = static_cast<std::int64_t>(magnitude);
    rounded = whole + (magnitude - static_cast<float>(whole) >= 0.5f ? 1 : 0);
  }
  return detail::saturate_narrow<T>((quotient < 0.0f ? -rounded : rounded) + p.zero_point);
}

// --- dequantize -----------------------------------------------------------------------------

template <class T>
struct dequantize_params {
  static_assert(detail::is_int8_or_int16<T>, "dequantize reads int8 or int16");
  using element_type = T;
  float scale = 1.0f;  // of the input
  std::int32_t zero_point = 0;
  std::int64_t count = 0;
};

template <class T>
constexpr result<dequantize_params<T>> prepare_dequantize(const quantization_params& input,
                                                          const shape& input_shape) noexcept {
  QKERN_TRY(validate_quantization<T>(input, "input"));
  QKERN_TRY(validate_shape(input_shape, "input"));
  dequantize_params<T> p;
  p.scale = input.scale;
  p.zero_point = input.zero_point;
  p.count = input_shape.element_count();
  return p;
}

// float32(double(scale) · (q - zero_point)): a 24-bit scale times a 17-bit offset is exact in
// double, so there is one rounding, to float; a float32 product can differ in the last bit.
template <class T>
constexpr float dequantize_element(const dequantize_params<T>& p, T q) noexcept {
  return static_cast<float>(static_cast<double>(p.scale) * static_cast<double>(q - p.zero_point));
}

// --- requantize -----------------------------------------------------------------------------

// The type pairs TFLM's QUANTIZE op accepts for an integer input.
template <class In, class Out>
inline constexpr bool is_supported_requantize =
    (std::is_same<In, std::int8_t>::value &&
     (std::is_same<Out, std::int8_t>::value || std::is_same<Out, std::uint8_t>::value ||
      std::is_same<Out, std::int16_t>::value || std::is_same<Out, std::int32_t>::value)) ||
    (std::is_same<In, std::uint8_t>::value && std::is_same<Out, std::int8_t>::value) ||
    (std::is_same<In, std::int16_t>::value &&
     (std::is_same<Out, std::int8_t>::value || std::is_same<Out, std::int16_t>::value));

template <class In, class Out, class Policy = double_rounding>
struct requantize_params {
  static_assert(is_supported_requantize<In, Out>,
                "requantize supports int8->{int8, uint8, int16, int32}, uint8->int8, int16->{int8, int16}");
  using input_type = In;
  using output_type = Out;
  using policy = Policy;
  using multiplier_type = typename Policy::multiplier_type;

  std::int32_t input_zero_point = 0;
  std::int32_t output_zero_point = 0;
  multiplier_type effective_scale{};  // s_in / s_out
  // int8 <-> uint8 with equal scales and zero points 128 apart: TFLite's XOR 0x80 path.
  bool flip_sign_bit = false;
  std::int64_t count = 0;
  // The SIMD path's form of effective_scale + output_zero_point, exact for every input (and,
  // for an int32 output, never overflowing); has_fused is false where it does not apply.
  bool has_fused = false;
  fused_requantization fused{};
};

template <class In, class Out, class Policy = double_rounding>
constexpr result<requantize_params<In, Out, Policy>> prepare_requantize(const quantization_params& input,
                                                                        const quantization_params& output,
                                                                        const shape& input_shape) noexcept {
  QKERN_TRY(validate_quantization<In>(input, "input"));
  QKERN_TRY(validate_quantization<Out>(output, "output"));
  QKERN_TRY(validate_shape(input_shape, "input"));
  requantize_params<In, Out, Policy> p;
  p.input_zero_point = input.zero_point;
  p.output_zero_point = output.zero_point;
  p.count = input_shape.element_count();
  const auto m = Policy::quantize(static_cast<double>(input.scale) / static_cast<double>(output.scale));
  if (!m.ok()) return m.error().about("output");
  p.effective_scale = *m;
  if constexpr (std::is_same<Out, std::int32_t>::value) {
    // TFLite's double-rounding multiply needs (q - zp) * 2^shift to fit int32 (it is UB beyond).
    // For 8/16-bit outputs a saturated product still clamps to the right bound; an int32 output
    // has no such slack, so ratios that could leave the contract are refused here.
    const std::int64_t below = std::int64_t{std::numeric_limits<In>::min()} - input.zero_point;
    const std::int64_t above = std::int64_t{std::numeric_limits<In>::max()} - input.zero_point;
    const std::int64_t largest = -below > above ? -below : above;
    if (m->shift > 0 && (m->shift >= 31 || (largest << m->shift) > std::numeric_limits<std::int32_t>::max())) {
      return status(status_code::overflow,
                    "scale ratio is too large for an int32 output: (q - input zero point) * 2^shift must fit int32",
                    "output", m->shift);
    }
  }
  // TFLite tests the quantized multiplier (exactly 1.0 is 2^30 · 2^1 / 2^31), not the scales.
  const bool unit_scale = m->multiplier == (std::int32_t{1} << 30) && m->shift == 1;
  const std::int32_t zero_point_difference = input.zero_point - output.zero_point;
  if constexpr (std::is_same<In, std::int8_t>::value && std::is_same<Out, std::uint8_t>::value) {
    p.flip_sign_bit = unit_scale && zero_point_difference == -128;
  } else if constexpr (std::is_same<In, std::uint8_t>::value && std::is_same<Out, std::int8_t>::value) {
    p.flip_sign_bit = unit_scale && zero_point_difference == 128;
  }
  if constexpr (std::is_same<Policy, double_rounding>::value || std::is_same<Policy, single_rounding>::value) {
    const std::int64_t below = std::int64_t{std::numeric_limits<In>::min()} - input.zero_point;
    const std::int64_t above = std::int64_t{std::numeric_limits<In>::max()} - input.zero_point;
    const auto widest = static_cast<std::int32_t>(-below > above ? -below : above);
    const auto f = make_fused_requantization<Policy>(*m, output.zero_point, widest);
    // The fused value is Policy::multiply + zero point in int32. Where it applies the product
    // stays within 2^30 + 1, so the sum overflows only for an int32 output's zero point.
    constexpr std::int32_t zero_point_limit = (1 << 30) - 2;
    p.has_fused = f.ok() && output.zero_point <= zero_point_limit && output.zero_point >= -zero_point_limit;
    if (p.has_fused) p.fused = *f;
  }
  return p;
}

// clamp(MBQM(q - zp_in, s_in / s_out) + zp_out) to Out's range.
template <class In, class Out, class Policy>
constexpr Out requantize_element(const requantize_params<In, Out, Policy>& p, In q) noexcept {
  if constexpr (std::is_same<In, std::int8_t>::value && std::is_same<Out, std::uint8_t>::value) {
    if (p.flip_sign_bit) return static_cast<Out>(q + 128);  // == q ^ 0x80 reinterpreted as uint8
  } else if constexpr (std::is_same<In, std::uint8_t>::value && std::is_same<Out, std::int8_t>::value) {
    if (p.flip_sign_bit) return static_cast<Out>(q - 128);  // == q ^ 0x80 reinterpreted as int8
  }
  const std::int32_t x = q - p.input_zero_point;
  // In 64 bits: the rescaled value may be near INT32_MAX (int32 output, or a saturated left shift).
  return detail::saturate_narrow<Out>(std::int64_t{Policy::multiply(x, p.effective_scale)} + p.output_zero_point);
}

// --- scalar reference ------------------------------------------------------------------------

namespace scalar {

template <class T>
constexpr void quantize(const quantize_params<T>& p, const float* input, T* output) noexcept {
  for (std::int64_t i = 0; i < p.count; ++i) output[i] = quantize_element(p, input[i]);
}

template <class T>
constexpr void dequantize(const dequantize_params<T>& p, const T* input, float* output) noexcept {
  for (std::int64_t i = 0; i < p.count; ++i) output[i] = dequantize_element(p, input[i]);
}

template <class In, class Out, class Policy>
constexpr void requantize(const requantize_params<In, Out, Policy>& p, const In* input, Out* output) noexcept {
  for (std::int64_t i = 0; i < p.count; ++i) output[i] = requantize_element(p, input[i]);
}

}  // namespace scalar

// --- the SIMD path ---------------------------------------------------------------------------

#if QKERN_SIMD
namespace simd {
namespace detail {

// Each kernel steps over one int8 register's worth of elements: four int32 (or float) batches.
template <class A>
inline constexpr std::size_t quarter_lanes = xsimd::batch<std::int32_t, A>::size;

// quantize: q = x / scale in float32 (an IEEE division, as the scalar one), then round half
// away from zero as the spec does: the truncated magnitude plus one where the exact fractional
// part is at least 1/2. |q| >= 2^16 saturates any int8/int16 output whatever the zero point,
// so magnitudes are clamped there first (infinities too) and stay exact integers in float;
// NaN lanes become 0 and so the zero point.
template <class A, class T>
struct quantize_kernel {
  using input_type = float;
  using output_type = T;
  using floats = xsimd::batch<float, A>;
  using dwords = xsimd::batch<std::int32_t, A>;
  static constexpr std::size_t lanes = 4 * quarter_lanes<A>;

  const quantize_params<T>* p;  // for the scalar spec
  float scale;
  std::int32_t zero_point;

  explicit quantize_kernel(const quantize_params<T>& q) noexcept : p(&q), scale(q.scale), zero_point(q.zero_point) {}

  QKERN_SIMD_STEP dwords quantize_lanes(const float* x) const noexcept {
    const floats q = simd::exact_divide(floats::load_unaligned(x), floats(scale));
    const floats magnitude =
        xsimd::select(q == q, xsimd::min(xsimd::abs(q), floats(65536.0f)), floats(0.0f));
    const floats whole = xsimd::to_float(xsimd::to_int(magnitude));  // truncation
    const floats rounded = whole + xsimd::select(magnitude - whole >= floats(0.5f), floats(1.0f), floats(0.0f));
    return xsimd::to_int(xsimd::select(q < floats(0.0f), -rounded, rounded)) + dwords(zero_point);
  }

  QKERN_SIMD_STEP void store(const float* in, T* out) const noexcept {
    constexpr std::size_t quarter = quarter_lanes<A>;
    std::array<dwords, 4> r;
    for (std::size_t k = 0; k < 4; ++k) r[k] = quantize_lanes(in + k * quarter);
    if constexpr (std::is_same<T, std::int8_t>::value) {
      simd::saturating_narrow<std::int8_t>(r[0], r[1], r[2], r[3]).store_unaligned(out);
    } else {
      simd::saturating_narrow<std::int16_t>(r[0], r[1]).store_unaligned(out);
      simd::saturating_narrow<std::int16_t>(r[2], r[3]).store_unaligned(out + 2 * quarter);
    }
  }
  T element(float x) const noexcept { return quantize_element(*p, x); }
};

// dequantize: the spec's float32(double(scale) * double(q - zp)) is one rounding of the exact
// product (24 x 17 significant bits fit a double), and so is the float32 product of scale and
// float32(q - zp) (exact, |q - zp| < 2^17): IEEE multiplication rounds the exact product once,
// to nearest even, with gradual underflow and overflow to infinity alike.
template <class A, class T>
struct dequantize_kernel {
  using input_type = T;
  using output_type = float;
  using floats = xsimd::batch<float, A>;
  using dwords = xsimd::batch<std::int32_t, A>;
  static constexpr std::size_t lanes = 4 * quarter_lanes<A>;

  const dequantize_params<T>* p;  // for the scalar spec
  float scale;
  std::int32_t zero_point;

  explicit dequantize_kernel(const dequantize_params<T>& q) noexcept
      : p(&q), scale(q.scale), zero_point(q.zero_point) {}

  QKERN_SIMD_STEP void store(const T* in, float* out) const noexcept {
    constexpr std::size_t quarter = quarter_lanes<A>;
    for (std::size_t k = 0; k < 4; ++k) {
      const dwords offset = simd::load_int32_lanes<A>(in + k * quarter) - dwords(zero_point);
      simd::exact_multiply(xsimd::to_float(offset), floats(scale)).store_unaligned(out + k * quarter);
    }
  }
  float element(T q) const noexcept { return dequantize_element(*p, q); }
};

// requantize: q - zp_in in int32 lanes, the fused requantization (or, outside it, the vector
// Policy::multiply followed by a saturating add of the zero point, pre-clamped for narrow
// outputs), then a saturating narrow to Out.
template <class A, class In, class Out, class Policy, bool Fused>
struct requantize_kernel {
  using input_type = In;
  using output_type = Out;
  using dwords = xsimd::batch<std::int32_t, A>;
  static constexpr std::size_t lanes = 4 * quarter_lanes<A>;

  using params = requantize_params<In, Out, Policy>;

  const params* p;  // for the scalar spec
  fused_requantization fused;
  typename params::multiplier_type effective_scale;
  std::int32_t input_zero_point;
  std::int32_t output_zero_point;

  explicit requantize_kernel(const params& q) noexcept
      : p(&q),
        fused(q.fused),
        effective_scale(q.effective_scale),
        input_zero_point(q.input_zero_point),
        output_zero_point(q.output_zero_point) {}

  QKERN_SIMD_STEP dwords requantize_lanes(const In* in) const noexcept {
    const dwords x = simd::load_int32_lanes<A>(in) - dwords(input_zero_point);
    if constexpr (Fused) return simd::apply_fused_requantization(x, fused);
    const dwords scaled = simd::multiply<Policy>(x, effective_scale);
    if constexpr (std::is_same<Out, std::int32_t>::value) {
      return xsimd::sadd(scaled, dwords(output_zero_point));
    } else {
      // Out is at most 16 bits: bounding the product to +-2^17 changes no output and keeps the
      // zero point's addition inside int32.
      constexpr std::int32_t bound = 1 << 17;
      return xsimd::clip(scaled, dwords(-bound), dwords(bound)) + dwords(output_zero_point);
    }
  }

  QKERN_SIMD_STEP void store(const In* in, Out* out) const noexcept {
    constexpr std::size_t quarter = quarter_lanes<A>;
    std::array<dwords, 4> r;
    for (std::size_t k = 0; k < 4; ++k) r[k] = requantize_lanes(in + k * quarter);
    if constexpr (sizeof(Out) == 1) {
      simd::saturating_narrow<Out>(r[0], r[1], r[2], r[3]).store_unaligned(out);
    } else if constexpr (std::is_same<Out, std::int16_t>::value) {
      simd::saturating_narrow<std::int16_t>(r[0], r[1]).store_unaligned(out);
      simd::saturating_narrow<std::int16_t>(r[2], r[3]).store_unaligned(out + 2 * quarter);
    } else {
      for (std::size_t k = 0; k < 4; ++k) r[k].store_unaligned(out + k * quarter);
    }
  }
  Out element(In q) const noexcept { return requantize_element(*p, q); }
};

// int8 <-> uint8 with equal scales and zero points 128 apart: flip each sign bit.
template <class A, class In, class Out, class Policy>
struct flip_sign_bit_kernel {
  using input_type = In;
  using output_type = Out;
  using bytes = xsimd::batch<std::uint8_t, A>;
  static constexpr std::size_t lanes = bytes::size;

  const requantize_params<In, Out, Policy>* p;  // for the scalar spec

  QKERN_SIMD_STEP static void store(const In* in, Out* out) noexcept {
    const bytes flipped = bytes::load_unaligned(reinterpret_cast<const std::uint8_t*>(in)) ^ bytes(0x80);
    flipped.store_unaligned(reinterpret_cast<std::uint8_t*>(out));
  }
  Out element(In q) const noexcept { return requantize_element(*p, q); }
};

}  // namespace detail

// The vector paths for arch A: bit-identical to scalar::quantize, scalar::dequantize and
// scalar::requantize.
template <class A = default_arch, class T>
void quantize(const quantize_params<T>& p, const float* input, T* output) noexcept {
  detail::run_unary(detail::quantize_kernel<A, T>(p), input, output, p.count);
}

template <class A = default_arch, class T>
void dequantize(const dequantize_params<T>& p, const T* input, float* output) noexcept {
  detail::run_unary(detail::dequantize_kernel<A, T>(p), input, output, p.count);
}

namespace detail {

// The n elements at input, requantized by the vector kernels.
template <class A, class In, class Out, class Policy>
void requantize_elements(const requantize_params<In, Out, Policy>& p, const In* input, Out* output,
                         std::int64_t n) noexcept {
  if constexpr (sizeof(In) == 1 && sizeof(Out) == 1 && !std::is_same<In, Out>::value) {
    if (p.flip_sign_bit) {
      run_unary(flip_sign_bit_kernel<A, In, Out, Policy>{&p}, input, output, n);
      return;
    }
  }
  if (p.has_fused) {
    run_unary(requantize_kernel<A, In, Out, Policy, true>(p), input, output, n);
  } else {
    run_unary(requantize_kernel<A, In, Out, Policy, false>(p), input, output, n);
  }
}

// 8-bit to 8-bit tensors at least this long go through a table: the 256 possible inputs are
// requantized once (by the same kernels) and every element is looked up.
inline constexpr std::int64_t requantize_table_min_count = 2048;

template <class A, class In, class Out, class Policy>
void requantize_by_table(const requantize_params<In, Out, Policy>& p, const In* input, Out* output) noexcept {
  // Entry b holds the result for the input whose byte is b (the lookup indexes by the byte).
  alignas(64) In inputs[256];
  alignas(64) Out table[256];
  for (int b = 0; b < 256; ++b) inputs[b] = static_cast<In>(static_cast<std::uint8_t>(b));
  requantize_elements<A>(p, inputs, table, 256);
  // int8 and uint8 may alias each other: they are the signed and unsigned forms of one type.
  simd::lookup_int8_table<A>(reinterpret_cast<const std::int8_t*>(table), reinterpret_cast<const std::int8_t*>(input),
                             reinterpret_cast<std::int8_t*>(output), p.count);
}

}  // namespace detail

template <class A = default_arch, class In, class Out, class Policy>
void requantize(const requantize_params<In, Out, Policy>& p, const In* input, Out* output) noexcept {
  if constexpr (sizeof(In) == 1 && sizeof(Out) == 1) {
    if (p.count >= detail::requantize_table_min_count) {
      detail::requantize_by_table<A>(p, input, output);
      return;
    }
  }
  detail::requantize_elements<A>(p, input, output, p.count);
}

}  // namespace simd
#endif  // QKERN_SIMD

// --- the public eval -------------------------------------------------------------------------
// Each runs the SIMD path when qkern is built with it, else the scalar reference; both give
// the same bits. p.count elements each.

template <class T>
void quantize(const quantize_params<T>& p, const float* input, T* output) noexcept {
#if QKERN_SIMD
  simd::quantize(p, input, output);
#else
  scalar::quantize(p, input, output);
#endif
}

template <class T>
void dequantize(const dequantize_params<T>& p, const T* input, float* output) noexcept {
#if QKERN_SIMD
  simd::dequantize(p, input, output);
#else
  scalar::dequantize(p, input, output);
#endif
}

template <class In, class Out, class Policy>
void requantize(const requantize_params<In, Out, Policy>& p, const In* input, Out* output) noexcept {
#if QKERN_SIMD
  simd::requantize(p, input, output);
#else
  scalar::requantize(p, input, output);
#endif
}

}  // namespace qkern
