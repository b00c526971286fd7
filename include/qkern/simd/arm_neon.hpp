// NEON overloads (aarch64, and armv7 built with -mfpu=neon). NEON has most primitives as
// single instructions; the double-rounding multiply is the generic composition of these.
// Only armv7 intrinsics are used, so the xsimd::neon tag serves neon64 too.
#pragma once

#include <cstdint>

#include "qkern/core/multiplier.hpp"
#include "qkern/core/rounding.hpp"
#include "qkern/simd/arch.hpp"

#if XSIMD_WITH_NEON

#include <arm_neon.h>

namespace qkern {
namespace simd {
namespace detail {

// vqrdmulh is saturate((2ab + 2^31) >> 32) = floor((ab + 2^30) / 2^31): the core's rounding.
template <class A>
xsimd::batch<std::int32_t, A> saturating_rounding_doubling_high_mul(const xsimd::batch<std::int32_t, A>& a,
                                                                    const xsimd::batch<std::int32_t, A>& b,
                                                                    xsimd::neon) noexcept {
  return vqrdmulhq_s32(a, b);
}

template <class A>
xsimd::batch<std::int32_t, A> rounding_divide_by_pot(const xsimd::batch<std::int32_t, A>& x, int exponent,
                                                     xsimd::neon) noexcept {
  const int32x4_t shift = vdupq_n_s32(-exponent);
  // vrshl rounds ties up; taking 1 from negative x first makes them round away from zero.
  // The and keeps x's sign bit only when exponent > 0 (then -exponent has its sign bit set).
  // INT32_MIN saturates instead of taking 1, harmlessly: it divides exactly.
  const int32x4_t fixup = vshrq_n_s32(vandq_s32(x, shift), 31);
  return vrshlq_s32(vqaddq_s32(x, fixup), shift);
}

template <class A>
xsimd::batch<std::int32_t, A> saturating_left_shift(const xsimd::batch<std::int32_t, A>& x, int exponent,
                                                    xsimd::neon) noexcept {
  const int e = exponent < 31 ? exponent : 31;
  return vqshlq_s32(x, vdupq_n_s32(e));
}

// One 64-bit product per lane; vrshl by -(31 - shift) is the single round-half-up shift (the
// rounding constant is added without overflow), vqmovn the saturation to int32.
template <class A>
xsimd::batch<std::int32_t, A> multiply(const xsimd::batch<std::int32_t, A>& x, const quantized_multiplier& m,
                                       single_rounding, xsimd::neon) noexcept {
  const int32x4_t v = x;
  const int32x2_t multiplier = vdup_n_s32(m.multiplier);
  const int64x2_t shift = vdupq_n_s64(m.shift - 31);
  const int64x2_t low = vrshlq_s64(vmull_s32(vget_low_s32(v), multiplier), shift);
  const int64x2_t high = vrshlq_s64(vmull_s32(vget_high_s32(v), multiplier), shift);
  return vcombine_s32(vqmovn_s64(low), vqmovn_s64(high));
}

template <class A>
xsimd::batch<std::int16_t, A> widen_low(const xsimd::batch<std::int8_t, A>& x, xsimd::neon) noexcept {
  return vmovl_s8(vget_low_s8(x));
}
template <class A>
xsimd::batch<std::int16_t, A> widen_high(const xsimd::batch<std::int8_t, A>& x, xsimd::neon) noexcept {
  return vmovl_s8(vget_high_s8(x));
}
template <class A>
xsimd::batch<std::int16_t, A> widen_low(const xsimd::batch<std::uint8_t, A>& x, xsimd::neon) noexcept {
  return vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(x)));
}
template <class A>
xsimd::batch<std::int16_t, A> widen_high(const xsimd::batch<std::uint8_t, A>& x, xsimd::neon) noexcept {
  return vreinterpretq_s16_u16(vmovl_u8(vget_high_u8(x)));
}
template <class A>
xsimd::batch<std::int32_t, A> widen_low(const xsimd::batch<std::int16_t, A>& x, xsimd::neon) noexcept {
  return vmovl_s16(vget_low_s16(x));
}
template <class A>
xsimd::batch<std::int32_t, A> widen_high(const xsimd::batch<std::int16_t, A>& x, xsimd::neon) noexcept {
  return vmovl_s16(vget_high_s16(x));
}

template <class A>
xsimd::batch<std::int16_t, A> narrow_int32_to_int16(const xsimd::batch<std::int32_t, A>& lo,
                                                    const xsimd::batch<std::int32_t, A>& hi, xsimd::neon) noexcept {
  return vcombine_s16(vqmovn_s32(lo), vqmovn_s32(hi));
}
template <class A>
xsimd::batch<std::int8_t, A> narrow_int16_to_int8(const xsimd::batch<std::int16_t, A>& lo,
                                                  const xsimd::batch<std::int16_t, A>& hi, xsimd::neon) noexcept {
  return vcombine_s8(vqmovn_s16(lo), vqmovn_s16(hi));
}
template <class A>
xsimd::batch<std::uint8_t, A> narrow_int16_to_uint8(const xsimd::batch<std::int16_t, A>& lo,
                                                    const xsimd::batch<std::int16_t, A>& hi, xsimd::neon) noexcept {
  return vcombine_u8(vqmovun_s16(lo), vqmovun_s16(hi));
}

}  // namespace detail
}  // namespace simd
}  // namespace qkern

#endif  // XSIMD_WITH_NEON
