// Build configuration shared by every layer: version, the SIMD switch, contract checks.
#pragma once

#define QKERN_VERSION_MAJOR 0
#define QKERN_VERSION_MINOR 1
#define QKERN_VERSION_PATCH 0

// QKERN_SIMD=0 compiles the simd layer out: nothing includes xsimd. Firmware builds
// (no hosted library, Cortex-M) get that default.
#ifndef QKERN_SIMD
#if defined(__STDC_HOSTED__) && __STDC_HOSTED__ == 0
#define QKERN_SIMD 0
#elif defined(__arm__) && !defined(__ARM_NEON)
#define QKERN_SIMD 0
#elif defined(__has_include)
#if __has_include(<xsimd/xsimd.hpp>)
#define QKERN_SIMD 1
#else
#define QKERN_SIMD 0
#endif
#else
#define QKERN_SIMD 0
#endif
#endif

namespace qkern {
namespace detail {

// Called where a documented precondition is broken (reading a failed result). Not constexpr-
// evaluable, so the violation is a compile error in a constant expression.
[[noreturn]] inline void contract_violation() noexcept { __builtin_trap(); }

}  // namespace detail
}  // namespace qkern
