// equal, not_equal, less, less_equal, greater, greater_equal (int8 inputs, bool output), with
// NumPy broadcasting. The six ops share one params struct and one prepare.
//
// Each input is compared as MBQM_smaller_than_one_exp((q - zp) · 2^8, scale): roughly its real
// value times 256, rounded. This is TFLite's arithmetic, not an exact comparison of the
// dequantized values: values closer than about 1/256 in real units compare equal.
//
//   auto p = qkern::prepare_comparison<std::int8_t>(q1, shape1, q2, shape2);
//   if (p) qkern::less(*p, in1, in2, out);   // bool out[p->broadcast.output_count]
#pragma once

#include <cstdint>
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
#include "qkern/simd/fused_requantization.hpp"
#include "qkern/simd/load_widened.hpp"
#include "qkern/simd/row_driver.hpp"
#endif

namespace qkern {

template <class T, class Policy = double_rounding>
struct comparison_params {
  static_assert(std::is_same<T, std::int8_t>::value, "quantized comparisons are defined for int8");
  using element_type = T;
  using policy = Policy;
  using multiplier_type = typename Policy::multiplier_type;

  int left_shift = 8;
  std::int32_t input1_offset = 0;  // -zero point of input1
  std::int32_t input2_offset = 0;  // -zero point of input2
  multiplier_type input1_multiplier{};  // the scale itself
  multiplier_type input2_multiplier{};
  bool requires_broadcast = false;  // TFLite's flag: the two input shapes differ
  broadcast_plan broadcast{};
  // The SIMD path's forms. Each compared value as a fused requantization of q + offset (its
  // pre-shift includes left_shift), and raw_order: both inputs map through the same strictly
  // increasing function, so comparing the raw int8 values gives the same answers.
  bool has_fused = false;
  bool raw_order = false;
  fused_requantization fused_input1{};
  fused_requantization fused_input2{};

  // The values the comparison sees. |q + offset| <= 255, so the shifted value fits easily.
  constexpr std::int32_t compared_value1(T q) const noexcept {
    return Policy::multiply_smaller_than_one_exp((q + input1_offset) * (1 << left_shift), input1_multiplier);
  }
  constexpr std::int32_t compared_value2(T q) const noexcept {
    return Policy::multiply_smaller_than_one_exp((q + input2_offset) * (1 << left_shift), input2_multiplier);
  }
};

namespace detail {

template <class Params>
constexpr void prepare_fused_comparison(Params& p) noexcept {
  using Policy = typename Params::policy;
  if constexpr (std::is_same<Policy, double_rounding>::value || std::is_same<Policy, single_rounding>::value) {
    // max |q + offset| over int8 q.
    const auto widest = [](std::int32_t offset) { return offset < 0 ? 128 - offset : 127 + offset; };
    const auto input_form = [&p](const quantized_multiplier& m, std::int32_t widest_value) {
      auto f = make_fused_requantization<Policy>(m, 0, widest_value << p.left_shift);
      if (f.ok()) {
        fused_requantization g = *f;
        g.pre_shift += p.left_shift;  // takes q + offset itself
        g.max_abs_input = widest_value;
        return result<fused_requantization>(g);
      }
      return f;
    };
    const auto f1 = input_form(p.input1_multiplier, widest(p.input1_offset));
    const auto f2 = input_form(p.input2_multiplier, widest(p.input2_offset));
    p.has_fused = f1.ok() && f2.ok();
    if (p.has_fused) {
      p.fused_input1 = *f1;
      p.fused_input2 = *f2;
    }
  }
  if (p.input1_offset == p.input2_offset && p.input1_multiplier == p.input2_multiplier) {
    bool increasing = true;
    for (int q = -128; q < 127 && increasing; ++q) {
      increasing = p.compared_value1(static_cast<std::int8_t>(q)) < p.compared_value1(static_cast<std::int8_t>(q + 1));
    }
    p.raw_order = increasing;
  }
}

}  // namespace detail

// Fails for invalid quantizations, scales of 1 or more (the scale is used as a multiplier below
// one, as in TFLite), and shapes that do not broadcast.
template <class T, class Policy = double_rounding>
constexpr result<comparison_params<T, Policy>> prepare_comparison(const quantization_params& input1,
                                                                  const shape& input1_shape,
                                                                  const quantization_params& input2,
                                                                  const shape& input2_shape) noexcept {
  QKERN_TRY(validate_quantization<T>(input1, "input1"));
  QKERN_TRY(validate_quantization<T>(input2, "input2"));

  comparison_params<T, Policy> p;
  const auto plan = make_broadcast_plan(input1_shape, input2_shape);
  if (!plan.ok()) return plan.error().about("input1 and input2");
  p.broadcast = *plan;
  p.requires_broadcast = input1_shape != input2_shape;
  p.input1_offset = -input1.zero_point;
  p.input2_offset = -input2.zero_point;

  constexpr const char* message = "scale must be below 1 for a quantized comparison (the scale is its multiplier)";
  const auto m1 = detail::quantize_multiplier_below_one<Policy>(static_cast<double>(input1.scale), message, "input1");
  if (!m1.ok()) return m1.error();
  const auto m2 = detail::quantize_multiplier_below_one<Policy>(static_cast<double>(input2.scale), message, "input2");
  if (!m2.ok()) return m2.error();
  p.input1_multiplier = *m1;
  p.input2_multiplier = *m2;
  detail::prepare_fused_comparison(p);
  return p;
}

// --- the scalar reference ---------------------------------------------------------------------

template <class T, class Policy>
constexpr bool equal_element(const comparison_params<T, Policy>& p, T a, T b) noexcept {
  return p.compared_value1(a) == p.compared_value2(b);
}
template <class T, class Policy>
constexpr bool not_equal_element(const comparison_params<T, Policy>& p, T a, T b) noexcept {
  return p.compared_value1(a) != p.compared_value2(b);
}
template <class T, class Policy>
constexpr bool less_element(const comparison_params<T, Policy>& p, T a, T b) noexcept {
  return p.compared_value1(a) < p.compared_value2(b);
}
template <class T, class Policy>
constexpr bool less_equal_element(const comparison_params<T, Policy>& p, T a, T b) noexcept {
  return p.compared_value1(a) <= p.compared_value2(b);
}
template <class T, class Policy>
constexpr bool greater_element(const comparison_params<T, Policy>& p, T a, T b) noexcept {
  return p.compared_value1(a) > p.compared_value2(b);
}
template <class T, class Policy>
constexpr bool greater_equal_element(const comparison_params<T, Policy>& p, T a, T b) noexcept {
  return p.compared_value1(a) >= p.compared_value2(b);
}

namespace scalar {

template <class T, class Policy>
constexpr void equal(const comparison_params<T, Policy>& p, const T* input1, const T* input2, bool* output) noexcept {
  binary_loop(p.broadcast, input1, input2, output, [&p](T a, T b) { return equal_element(p, a, b); });
}
template <class T, class Policy>
constexpr void not_equal(const comparison_params<T, Policy>& p, const T* input1, const T* input2,
                         bool* output) noexcept {
  binary_loop(p.broadcast, input1, input2, output, [&p](T a, T b) { return not_equal_element(p, a, b); });
}
template <class T, class Policy>
constexpr void less(const comparison_params<T, Policy>& p, const T* input1, const T* input2, bool* output) noexcept {
  binary_loop(p.broadcast, input1, input2, output, [&p](T a, T b) { return less_element(p, a, b); });
}
template <class T, class Policy>
constexpr void less_equal(const comparison_params<T, Policy>& p, const T* input1, const T* input2,
                          bool* output) noexcept {
  binary_loop(p.broadcast, input1, input2, output, [&p](T a, T b) { return less_equal_element(p, a, b); });
}
template <class T, class Policy>
constexpr void greater(const comparison_params<T, Policy>& p, const T* input1, const T* input2,
                       bool* output) noexcept {
  binary_loop(p.broadcast, input1, input2, output, [&p](T a, T b) { return greater_element(p, a, b); });
}
template <class T, class Policy>
constexpr void greater_equal(const comparison_params<T, Policy>& p, const T* input1, const T* input2,
                             bool* output) noexcept {
  binary_loop(p.broadcast, input1, input2, output, [&p](T a, T b) { return greater_equal_element(p, a, b); });
}

}  // namespace scalar

// --- the SIMD path ---------------------------------------------------------------------------

#if QKERN_SIMD
namespace simd {
namespace detail {

enum class comparison_op { equal, not_equal, less, less_equal, greater, greater_equal };

template <comparison_op Op, class T, class Policy>
constexpr bool comparison_element(const comparison_params<T, Policy>& p, T a, T b) noexcept {
  switch (Op) {
    case comparison_op::equal: return equal_element(p, a, b);
    case comparison_op::not_equal: return not_equal_element(p, a, b);
    case comparison_op::less: return less_element(p, a, b);
    case comparison_op::less_equal: return less_equal_element(p, a, b);
    case comparison_op::greater: return greater_element(p, a, b);
    case comparison_op::greater_equal: break;
  }
  return greater_equal_element(p, a, b);
}

template <comparison_op Op, class V>
auto comparison_mask(const V& x, const V& y) noexcept {
  switch (Op) {
    case comparison_op::equal: return x == y;
    case comparison_op::not_equal: return x != y;
    case comparison_op::less: return x < y;
    case comparison_op::less_equal: return x <= y;
    case comparison_op::greater: return x > y;
    case comparison_op::greater_equal: break;
  }
  return x >= y;
}

// Stores a byte mask as bool bytes (0 or 1).
template <class A>
void store_bools(const xsimd::batch_bool<std::int8_t, A>& mask, bool* out) noexcept {
  using ubytes = xsimd::batch<std::uint8_t, A>;
  const auto ones = xsimd::select(mask, xsimd::batch<std::int8_t, A>(1), xsimd::batch<std::int8_t, A>(0));
  xsimd::bitwise_cast<ubytes>(ones).store_unaligned(reinterpret_cast<std::uint8_t*>(out));
}

// One row of a comparison on the compared values: each input widened to int32 and rescaled by
// its fused form, compared, and the four int32 masks narrowed to bool bytes.
template <class A, class Policy, comparison_op Op>
struct comparison_row {
  using params = comparison_params<std::int8_t, Policy>;
  using first_type = std::int8_t;
  using second_type = std::int8_t;
  using output_type = bool;
  using bytes = xsimd::batch<std::int8_t, A>;
  using dwords = xsimd::batch<std::int32_t, A>;
  using quarters = std::array<dwords, 4>;
  static constexpr std::size_t lanes = bytes::size;

  const params* p;  // for the scalar spec
  fused_requantization input1;
  fused_requantization input2;
  std::int32_t offset1;
  std::int32_t offset2;

  explicit comparison_row(const params& q) noexcept
      : p(&q), input1(q.fused_input1), input2(q.fused_input2), offset1(q.input1_offset), offset2(q.input2_offset) {}

  QKERN_SIMD_STEP static quarters rescale(const std::int8_t* q, std::int32_t offset,
                                          const fused_requantization& f) noexcept {
    constexpr std::size_t quarter = dwords::size;
    const dwords o(offset);
    quarters x;
    for (std::size_t k = 0; k < 4; ++k)
      x[k] = simd::apply_fused_requantization(simd::load_widened<A>(q + k * quarter) + o, f);
    return x;
  }
  QKERN_SIMD_STEP static quarters rescale_splat(std::int8_t q, std::int32_t offset,
                                                const fused_requantization& f) noexcept {
    const dwords v = simd::apply_fused_requantization(dwords(q) + dwords(offset), f);
    return {v, v, v, v};
  }
  QKERN_SIMD_STEP quarters load_first(const std::int8_t* q) const noexcept { return rescale(q, offset1, input1); }
  QKERN_SIMD_STEP quarters load_second(const std::int8_t* q) const noexcept { return rescale(q, offset2, input2); }
  QKERN_SIMD_STEP quarters splat_first(std::int8_t q) const noexcept { return rescale_splat(q, offset1, input1); }
  QKERN_SIMD_STEP quarters splat_second(std::int8_t q) const noexcept { return rescale_splat(q, offset2, input2); }

  QKERN_SIMD_STEP void store(const quarters& a, const quarters& b, bool* out) const noexcept {
    const dwords one(1);
    const dwords zero(0);
    quarters r;
    for (std::size_t k = 0; k < 4; ++k) r[k] = xsimd::select(comparison_mask<Op>(a[k], b[k]), one, zero);
    const bytes narrowed = simd::saturating_narrow<std::int8_t>(r[0], r[1], r[2], r[3]);
    xsimd::bitwise_cast<xsimd::batch<std::uint8_t, A>>(narrowed).store_unaligned(reinterpret_cast<std::uint8_t*>(out));
  }
  bool element(std::int8_t a, std::int8_t b) const noexcept { return comparison_element<Op>(*p, a, b); }
};

// With raw_order, the raw int8 values compare like the compared values.
template <class A, class Policy, comparison_op Op>
struct raw_comparison_row {
  using params = comparison_params<std::int8_t, Policy>;
  using first_type = std::int8_t;
  using second_type = std::int8_t;
  using output_type = bool;
  using bytes = xsimd::batch<std::int8_t, A>;
  static constexpr std::size_t lanes = bytes::size;

  const params* p;  // for the scalar spec

  QKERN_SIMD_STEP static bytes load_first(const std::int8_t* q) noexcept { return bytes::load_unaligned(q); }
  QKERN_SIMD_STEP static bytes load_second(const std::int8_t* q) noexcept { return bytes::load_unaligned(q); }
  QKERN_SIMD_STEP static bytes splat_first(std::int8_t q) noexcept { return bytes(q); }
  QKERN_SIMD_STEP static bytes splat_second(std::int8_t q) noexcept { return bytes(q); }
  QKERN_SIMD_STEP static void store(const bytes& a, const bytes& b, bool* out) noexcept {
    store_bools<A>(comparison_mask<Op>(a, b), out);
  }
  bool element(std::int8_t a, std::int8_t b) const noexcept { return comparison_element<Op>(*p, a, b); }
};

// One operand broadcast along a row: its compared value c is fixed, and the other's compared
// value g(x) is non-decreasing in x (a positive multiplier and monotone roundings). So
// g(x) < c exactly for x below a threshold t_less, and g(x) <= c for x below t_less_equal; every
// comparison becomes one or two raw int8 compares against thresholds found by binary search.
template <class A, class Policy, comparison_op Op, bool FirstVaries>
struct threshold_comparison_row {
  using params = comparison_params<std::int8_t, Policy>;
  using first_type = std::int8_t;
  using second_type = std::int8_t;
  using output_type = bool;
  using bytes = xsimd::batch<std::int8_t, A>;
  using mask = xsimd::batch_bool<std::int8_t, A>;
  static constexpr std::size_t lanes = bytes::size;

  // x < -128 + count for a count in [0, 256]; 256 (all of int8) is stored as the never-true
  // x < -128, inverted.
  struct below {
    bytes threshold;
    bool everything;
    QKERN_SIMD_STEP mask operator()(const bytes& x) const noexcept {
      const mask m = x < threshold;
      return everything ? !m : m;
    }
  };

  const params* p;
  below less;        // g(x) < c
  below less_equal;  // g(x) <= c

  static std::int32_t g(const params& q, std::int8_t x) noexcept {
    return FirstVaries ? q.compared_value1(x) : q.compared_value2(x);
  }
  // The number of int8 x with g(x) < c (strict) or g(x) <= c.
  static below count_below(const params& q, std::int32_t c, bool strict) noexcept {
    int lo = -128;  // g(x) passes for every x < lo
    int hi = 128;   // and fails for every x >= hi
    while (lo < hi) {
      const int mid = lo + (hi - lo) / 2;
      const std::int32_t v = g(q, static_cast<std::int8_t>(mid));
      if (strict ? v < c : v <= c) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return {bytes(static_cast<std::int8_t>(lo == 128 ? -128 : lo)), lo == 128};
  }

  // c is the broadcast operand's compared value.
  threshold_comparison_row(const params& q, std::int32_t c) noexcept
      : p(&q), less(count_below(q, c, true)), less_equal(count_below(q, c, false)) {}

  // The answer for a batch of the varying operand x (input1 when FirstVaries, else input2).
  QKERN_SIMD_STEP mask answer(const bytes& x) const noexcept {
    const auto lt = [&] { return less(x); };       // g(x) < c
    const auto le = [&] { return less_equal(x); };  // g(x) <= c
    switch (Op) {
      case comparison_op::equal: return le() && !lt();
      case comparison_op::not_equal: return lt() || !le();
      case comparison_op::less: return FirstVaries ? lt() : !le();        // v1 < v2
      case comparison_op::less_equal: return FirstVaries ? le() : !lt();  // v1 <= v2
      case comparison_op::greater: return FirstVaries ? !le() : lt();     // v1 > v2
      case comparison_op::greater_equal: break;
    }
    return FirstVaries ? !lt() : le();  // v1 >= v2
  }

  // The row interface, with the broadcast operand as a splat that the answer ignores.
  QKERN_SIMD_STEP bytes load_first(const std::int8_t* q) const noexcept { return bytes::load_unaligned(q); }
  QKERN_SIMD_STEP bytes load_second(const std::int8_t* q) const noexcept { return bytes::load_unaligned(q); }
  QKERN_SIMD_STEP bytes splat_first(std::int8_t q) const noexcept { return bytes(q); }
  QKERN_SIMD_STEP bytes splat_second(std::int8_t q) const noexcept { return bytes(q); }
  QKERN_SIMD_STEP void store(const bytes& a, const bytes& b, bool* out) const noexcept {
    store_bools<A>(answer(FirstVaries ? a : b), out);
  }
  bool element(std::int8_t a, std::int8_t b) const noexcept { return comparison_element<Op>(*p, a, b); }
};

// Rows at least this long with one operand broadcast amortise the threshold search (two binary
// searches of 8 scalar rescales each).
inline constexpr std::int64_t threshold_min_row = 512;

// Picks the row kernel per row: thresholds where one operand is broadcast along a long row,
// raw compares where the quantizations allow, else the compared values.
template <class A, class Policy, comparison_op Op>
struct comparison_rows {
  using params = comparison_params<std::int8_t, Policy>;

  const params* p;
  comparison_row<A, Policy, Op> rescaled;

  void operator()(const std::int8_t* a, int a_step, const std::int8_t* b, int b_step, bool* out,
                  std::int64_t n) const noexcept {
    if ((a_step == 0) != (b_step == 0) && n >= threshold_min_row) {
      if (b_step == 0) {
        const threshold_comparison_row<A, Policy, Op, true> row(*p, p->compared_value2(b[0]));
        run_binary_row(row, a, a_step, b, b_step, out, n);
      } else {
        const threshold_comparison_row<A, Policy, Op, false> row(*p, p->compared_value1(a[0]));
        run_binary_row(row, a, a_step, b, b_step, out, n);
      }
    } else if (p->raw_order) {
      run_binary_row(raw_comparison_row<A, Policy, Op>{p}, a, a_step, b, b_step, out, n);
    } else {
      run_binary_row(rescaled, a, a_step, b, b_step, out, n);
    }
  }
};

template <comparison_op Op, class A, class Policy>
void comparison(const comparison_params<std::int8_t, Policy>& p, const std::int8_t* input1, const std::int8_t* input2,
                bool* output) noexcept {
  if (p.has_fused) {
    const comparison_rows<A, Policy, Op> rows{&p, comparison_row<A, Policy, Op>(p)};
    run_rows(p.broadcast, input1, input2, output, rows, xsimd::batch<std::int8_t, A>::size, true);
    return;
  }
  binary_loop(p.broadcast, input1, input2, output,
              [&p](std::int8_t a, std::int8_t b) { return comparison_element<Op>(p, a, b); });
}

}  // namespace detail

// The vector paths for arch A: bit-identical to the scalar:: comparisons.
template <class A = default_arch, class T, class Policy>
void equal(const comparison_params<T, Policy>& p, const T* input1, const T* input2, bool* output) noexcept {
  detail::comparison<detail::comparison_op::equal, A>(p, input1, input2, output);
}
template <class A = default_arch, class T, class Policy>
void not_equal(const comparison_params<T, Policy>& p, const T* input1, const T* input2, bool* output) noexcept {
  detail::comparison<detail::comparison_op::not_equal, A>(p, input1, input2, output);
}
template <class A = default_arch, class T, class Policy>
void less(const comparison_params<T, Policy>& p, const T* input1, const T* input2, bool* output) noexcept {
  detail::comparison<detail::comparison_op::less, A>(p, input1, input2, output);
}
template <class A = default_arch, class T, class Policy>
void less_equal(const comparison_params<T, Policy>& p, const T* input1, const T* input2, bool* output) noexcept {
  detail::comparison<detail::comparison_op::less_equal, A>(p, input1, input2, output);
}
template <class A = default_arch, class T, class Policy>
void greater(const comparison_params<T, Policy>& p, const T* input1, const T* input2, bool* output) noexcept {
  detail::comparison<detail::comparison_op::greater, A>(p, input1, input2, output);
}
template <class A = default_arch, class T, class Policy>
void greater_equal(const comparison_params<T, Policy>& p, const T* input1, const T* input2, bool* output) noexcept {
  detail::comparison<detail::comparison_op::greater_equal, A>(p, input1, input2, output);
}

}  // namespace simd
#endif  // QKERN_SIMD

// --- the public eval -------------------------------------------------------------------------

// output[i] = (input1 OP input2) on the rescaled values, broadcast; output holds
// p.broadcast.output_count elements. Runs the SIMD path when qkern is built with it, else the
// scalar reference; both give the same bits.
template <class T, class Policy>
void equal(const comparison_params<T, Policy>& p, const T* input1, const T* input2, bool* output) noexcept {
#if QKERN_SIMD
  simd::equal(p, input1, input2, output);
#else
  scalar::equal(p, input1, input2, output);
#endif
}
template <class T, class Policy>
void not_equal(const comparison_params<T, Policy>& p, const T* input1, const T* input2, bool* output) noexcept {
#if QKERN_SIMD
  simd::not_equal(p, input1, input2, output);
#else
  scalar::not_equal(p, input1, input2, output);
#endif
}
template <class T, class Policy>
void less(const comparison_params<T, Policy>& p, const T* input1, const T* input2, bool* output) noexcept {
#if QKERN_SIMD
  simd::less(p, input1, input2, output);
#else
  scalar::less(p, input1, input2, output);
#endif
}
template <class T, class Policy>
void less_equal(const comparison_params<T, Policy>& p, const T* input1, const T* input2, bool* output) noexcept {
#if QKERN_SIMD
  simd::less_equal(p, input1, input2, output);
#else
  scalar::less_equal(p, input1, input2, output);
#endif
}
template <class T, class Policy>
void greater(const comparison_params<T, Policy>& p, const T* input1, const T* input2, bool* output) noexcept {
#if QKERN_SIMD
  simd::greater(p, input1, input2, output);
#else
  scalar::greater(p, input1, input2, output);
#endif
}
template <class T, class Policy>
void greater_equal(const comparison_params<T, Policy>& p, const T* input1, const T* input2, bool* output) noexcept {
#if QKERN_SIMD
  simd::greater_equal(p, input1, input2, output);
#else
  scalar::greater_equal(p, input1, input2, output);
#endif
}

}  // namespace qkern
