// simd::in_constant_evaluation(): true while the compiler evaluates a constant expression. The
// public evals of the pooling, activation and layout ops stay constexpr by taking their scalar
// reference there (the SIMD paths are not constexpr) and the SIMD path at run time.
#pragma once

namespace qkern {
namespace simd {

constexpr bool in_constant_evaluation() noexcept {
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_is_constant_evaluated();
#else
  return false;
#endif
}

}  // namespace simd
}  // namespace qkern
