// Which SIMD architecture the simd layer targets, and which qkern backend serves it.
// Included only when QKERN_SIMD is 1: with QKERN_SIMD=0 nothing under qkern/simd/ (and so
// nothing of xsimd) is seen.
//
// Every vector primitive is one public template on xsimd::batch<T, A> that forwards to
// overloads taking an arch tag (`A{}`): one for xsimd::generic and, where it pays, one per
// backend below. The most derived tag wins, so fma3<avx2> lands on the avx2 overload and an
// arch with no overload (sse2, avx, avx512f without bw) on the generic one. The public template
// and its generic overload live in the header of their job (fixed_point.hpp, convert.hpp); the
// backend overloads in x86_sse41.hpp, x86_avx2.hpp, x86_avx512.hpp and arm_neon.hpp, which those
// headers include first. Every helper is templated on the arch, so that TUs built with different
// flags never share (and the linker never merges) a definition.
#pragma once

#include "qkern/core/config.hpp"

#if !QKERN_SIMD
#error "qkern/simd/ is compiled out (QKERN_SIMD=0); include qkern/qkern.hpp instead"
#endif

#include <xsimd/xsimd.hpp>

namespace qkern {
namespace simd {

// The architecture kernels are compiled for: the best one the compiler flags enable.
// With -march=x86-64-v3 this is fma3<avx2>, with -march=x86-64-v4 avx512bw.
using default_arch = xsimd::default_arch;

// The overload family that implements the primitives for an arch.
enum class backend { generic, sse41, avx2, avx512bw, neon };

namespace detail {

// Whether this TU is compiled with AVX-512 VBMI (constexpr at namespace scope: internal linkage,
// one value per TU). Helpers whose code depends on it take it as a template parameter defaulted
// from here, so that TUs built with and without VBMI never share a definition.
#if defined(__AVX512VBMI__)
constexpr bool has_avx512_vbmi = true;
#else
constexpr bool has_avx512_vbmi = false;
#endif

// One entry per backend, guarded like the backend's own file.
template <class A>
constexpr backend backend_for(xsimd::generic) noexcept { return backend::generic; }
#if XSIMD_WITH_SSE4_1
template <class A>
constexpr backend backend_for(xsimd::sse4_1) noexcept { return backend::sse41; }
#endif
#if XSIMD_WITH_AVX2
template <class A>
constexpr backend backend_for(xsimd::avx2) noexcept { return backend::avx2; }
#endif
#if XSIMD_WITH_AVX512BW
template <class A>
constexpr backend backend_for(xsimd::avx512bw) noexcept { return backend::avx512bw; }
#endif
#if XSIMD_WITH_NEON
template <class A>
constexpr backend backend_for(xsimd::neon) noexcept { return backend::neon; }
#endif

}  // namespace detail

template <class A = default_arch>
constexpr backend backend_of() noexcept { return detail::backend_for<A>(A{}); }

constexpr const char* backend_name(backend b) noexcept {
  switch (b) {
    case backend::sse41: return "sse4.1";
    case backend::avx2: return "avx2";
    case backend::avx512bw: return "avx512bw";
    case backend::neon: return "neon";
    case backend::generic: break;
  }
  return "generic";
}

// xsimd's name for the arch ("sse4.1", "fma3+avx2", "avx512bw", "arm64+neon", ...). A template,
// not an inline function: an inline function would mean something different in every TU.
template <class A = default_arch>
constexpr const char* arch_name() noexcept { return A::name(); }

}  // namespace simd
}  // namespace qkern
