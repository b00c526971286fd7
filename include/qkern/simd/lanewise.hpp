// The generic fallback's mechanism: store the lanes, apply the scalar core, load the result.
// Exact by construction (it *is* the scalar spec); used where xsimd has no vector operation
// to build a primitive from and no backend overload applies.
#pragma once

#include <array>
#include <cstddef>

#include "qkern/simd/arch.hpp"

namespace qkern {
namespace simd {
namespace detail {

template <class T, class A>
std::array<T, xsimd::batch<T, A>::size> lanes_of(const xsimd::batch<T, A>& x) noexcept {
  std::array<T, xsimd::batch<T, A>::size> out{};
  x.store_unaligned(out.data());
  return out;
}

// f(x[i]) for every lane.
template <class To, class From, class A, class F>
xsimd::batch<To, A> map_lanes(const xsimd::batch<From, A>& x, F f) noexcept {
  static_assert(xsimd::batch<To, A>::size == xsimd::batch<From, A>::size, "same lane count");
  const auto in = lanes_of(x);
  std::array<To, xsimd::batch<To, A>::size> out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = f(in[i]);
  return xsimd::batch<To, A>::load_unaligned(out.data());
}

// f(x[i], y[i]) for every lane.
template <class To, class From, class A, class F>
xsimd::batch<To, A> map_lanes(const xsimd::batch<From, A>& x, const xsimd::batch<From, A>& y, F f) noexcept {
  static_assert(xsimd::batch<To, A>::size == xsimd::batch<From, A>::size, "same lane count");
  const auto in_x = lanes_of(x);
  const auto in_y = lanes_of(y);
  std::array<To, xsimd::batch<To, A>::size> out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = f(in_x[i], in_y[i]);
  return xsimd::batch<To, A>::load_unaligned(out.data());
}

// Lanes [first, first + size(To)) of x, each converted by f: half of a widening.
template <class To, class From, class A, class F>
xsimd::batch<To, A> map_lane_range(const xsimd::batch<From, A>& x, std::size_t first, F f) noexcept {
  const auto in = lanes_of(x);
  std::array<To, xsimd::batch<To, A>::size> out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = f(in[first + i]);
  return xsimd::batch<To, A>::load_unaligned(out.data());
}

// The lanes of parts[0], then parts[1], ..., each converted by f: a narrowing.
template <class To, class From, class A, std::size_t Parts, class F>
xsimd::batch<To, A> concat_lanes(const std::array<xsimd::batch<From, A>, Parts>& parts, F f) noexcept {
  static_assert(xsimd::batch<From, A>::size * Parts == xsimd::batch<To, A>::size, "parts fill one batch");
  std::array<To, xsimd::batch<To, A>::size> out{};
  std::size_t i = 0;
  for (const auto& part : parts) {
    for (const From v : lanes_of(part)) out[i++] = f(v);
  }
  return xsimd::batch<To, A>::load_unaligned(out.data());
}

}  // namespace detail
}  // namespace simd
}  // namespace qkern
