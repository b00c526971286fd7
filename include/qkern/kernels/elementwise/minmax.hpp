// maximum and minimum (int8, int16), with NumPy broadcasting.
//
// The kernels compare raw quantized values, which is only meaningful when both inputs and the
// output share one quantization (converters guarantee it); prepare rejects anything else
// rather than returning an answer in the wrong units. No fused activation, no rounding policy.
//
//   auto p = qkern::prepare_maximum<std::int8_t>(q, shape1, q, shape2, q);
//   if (p) qkern::maximum(*p, in1, in2, out);
#pragma once

#include <cstddef>
#include <cstdint>

#include "qkern/core/broadcast.hpp"
#include "qkern/core/quantization.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/elementwise/binary_loop.hpp"
#include "qkern/kernels/elementwise/common.hpp"

#if QKERN_SIMD
#include "qkern/simd/arch.hpp"
#include "qkern/simd/row_driver.hpp"
#endif

namespace qkern {
namespace detail {

template <class T>
struct minmax_fields {
  static_assert(is_int8_or_int16<T>, "maximum and minimum are defined for int8 and int16");
  using element_type = T;
  broadcast_plan broadcast{};
};

template <class Params>
constexpr result<Params> prepare_minmax(const quantization_params& input1, const shape& input1_shape,
                                        const quantization_params& input2, const shape& input2_shape,
                                        const quantization_params& output) noexcept {
  using T = typename Params::element_type;
  QKERN_TRY(validate_quantization<T>(input1, "input1"));
  QKERN_TRY(validate_quantization<T>(input2, "input2"));
  QKERN_TRY(validate_quantization<T>(output, "output"));
  constexpr const char* message = "must have the same scale and zero point as input1 (raw values are compared)";
  if (input2.scale != input1.scale || input2.zero_point != input1.zero_point) {
    return status(status_code::unsupported_parameter, message, "input2");
  }
  if (output.scale != input1.scale || output.zero_point != input1.zero_point) {
    return status(status_code::unsupported_parameter, message, "output");
  }
  Params p;
  const auto plan = make_broadcast_plan(input1_shape, input2_shape);
  if (!plan.ok()) return plan.error().about("input1 and input2");
  p.broadcast = *plan;
  return p;
}

}  // namespace detail

template <class T>
struct maximum_params : detail::minmax_fields<T> {};

template <class T>
struct minimum_params : detail::minmax_fields<T> {};

// T is std::int8_t or std::int16_t. Fails for invalid quantizations, quantizations that differ
// between the three tensors, and shapes that do not broadcast.
template <class T>
constexpr result<maximum_params<T>> prepare_maximum(const quantization_params& input1, const shape& input1_shape,
                                                    const quantization_params& input2, const shape& input2_shape,
                                                    const quantization_params& output) noexcept {
  return detail::prepare_minmax<maximum_params<T>>(input1, input1_shape, input2, input2_shape, output);
}

template <class T>
constexpr result<minimum_params<T>> prepare_minimum(const quantization_params& input1, const shape& input1_shape,
                                                    const quantization_params& input2, const shape& input2_shape,
                                                    const quantization_params& output) noexcept {
  return detail::prepare_minmax<minimum_params<T>>(input1, input1_shape, input2, input2_shape, output);
}

// --- the scalar reference ---------------------------------------------------------------------

template <class T>
constexpr T maximum_element(const maximum_params<T>&, T a, T b) noexcept {
  return a > b ? a : b;
}

template <class T>
constexpr T minimum_element(const minimum_params<T>&, T a, T b) noexcept {
  return a < b ? a : b;
}

namespace scalar {

template <class T>
constexpr void maximum(const maximum_params<T>& p, const T* input1, const T* input2, T* output) noexcept {
  binary_loop(p.broadcast, input1, input2, output, [&p](T a, T b) { return maximum_element(p, a, b); });
}

template <class T>
constexpr void minimum(const minimum_params<T>& p, const T* input1, const T* input2, T* output) noexcept {
  binary_loop(p.broadcast, input1, input2, output, [&p](T a, T b) { return minimum_element(p, a, b); });
}

}  // namespace scalar

// --- the SIMD path ---------------------------------------------------------------------------

#if QKERN_SIMD
namespace simd {
namespace detail {

// One row of maximum (IsMaximum) or minimum: a lane-wise max/min of the raw values.
template <class A, class T, bool IsMaximum>
struct minmax_row {
  using first_type = T;
  using second_type = T;
  using output_type = T;
  using values = xsimd::batch<T, A>;
  using first_operand = values;
  using second_operand = values;
  static constexpr std::size_t lanes = values::size;

  QKERN_SIMD_STEP static values load_first(const T* p) noexcept { return values::load_unaligned(p); }
  QKERN_SIMD_STEP static values load_second(const T* p) noexcept { return values::load_unaligned(p); }
  QKERN_SIMD_STEP static values splat_first(T v) noexcept { return values(v); }
  QKERN_SIMD_STEP static values splat_second(T v) noexcept { return values(v); }
  QKERN_SIMD_STEP static void store(const values& a, const values& b, T* out) noexcept {
    (IsMaximum ? xsimd::max(a, b) : xsimd::min(a, b)).store_unaligned(out);
  }
  static T element(T a, T b) noexcept {
    if constexpr (IsMaximum) {
      return maximum_element(maximum_params<T>{}, a, b);
    } else {
      return minimum_element(minimum_params<T>{}, a, b);
    }
  }

  // Rows are not coalesced: copying short rows would cost as much as the op itself.
  void operator()(const T* a, int a_step, const T* b, int b_step, T* out, std::int64_t n) const noexcept {
    run_binary_row(*this, a, a_step, b, b_step, out, n);
  }

};

}  // namespace detail

// The vector paths for arch A: bit-identical to scalar::maximum and scalar::minimum.
template <class A = default_arch, class T>
void maximum(const maximum_params<T>& p, const T* input1, const T* input2, T* output) noexcept {
  detail::run_rows(p.broadcast, input1, input2, output, detail::minmax_row<A, T, true>{},
                   xsimd::batch<T, A>::size, false);
}

template <class A = default_arch, class T>
void minimum(const minimum_params<T>& p, const T* input1, const T* input2, T* output) noexcept {
  detail::run_rows(p.broadcast, input1, input2, output, detail::minmax_row<A, T, false>{},
                   xsimd::batch<T, A>::size, false);
}

}  // namespace simd
#endif  // QKERN_SIMD

// --- the public eval -------------------------------------------------------------------------

// output = max(input1, input2), broadcast; output holds p.broadcast.output_count elements.
// Runs the SIMD path when qkern is built with it, else the scalar reference; both give the same bits.
template <class T>
void maximum(const maximum_params<T>& p, const T* input1, const T* input2, T* output) noexcept {
#if QKERN_SIMD
  simd::maximum(p, input1, input2, output);
#else
  scalar::maximum(p, input1, input2, output);
#endif
}

// output = min(input1, input2), broadcast.
template <class T>
void minimum(const minimum_params<T>& p, const T* input1, const T* input2, T* output) noexcept {
#if QKERN_SIMD
  simd::minimum(p, input1, input2, output);
#else
  scalar::minimum(p, input1, input2, output);
#endif
}

}  // namespace qkern
