// transpose: output dimension k is input dimension perm[k], ranks 0..6 (TFLM stops at 5).
// Generic over the element type; the quantized overload also checks that the output keeps
// the input's quantization.
//
//   const std::int32_t perm[4] = {0, 3, 1, 2};              // NHWC -> NCHW
//   auto p = qkern::prepare_transpose<std::int8_t>(input_shape, perm, 4);
//   if (p) qkern::transpose(*p, in, out);                   // out has p->output's shape
#pragma once

#include <cstdint>

#include "qkern/core/quantization.hpp"
#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"
#include "qkern/kernels/layout/common.hpp"
#include "qkern/kernels/layout/strided_view.hpp"

#if QKERN_SIMD
#include "qkern/simd/arch.hpp"
#include "qkern/simd/constant_evaluation.hpp"
#include "qkern/simd/strided_copy.hpp"
#endif

namespace qkern {

template <class T>
struct transpose_params {
  using element_type = T;
  shape output;
  strided_view source;  // the input, read in the output's row-major order
};

// perm holds perm_count (= the input's rank) entries, a permutation of 0..rank-1.
template <class T>
constexpr result<transpose_params<T>> prepare_transpose(const shape& input_shape, const std::int32_t* perm,
                                                        int perm_count) noexcept {
  QKERN_TRY(validate_shape(input_shape, "input"));
  if (perm_count != input_shape.rank) {
    return status(status_code::invalid_argument, "must hold one entry per input dimension", "perm", perm_count);
  }
  if (perm == nullptr && perm_count > 0) return status(status_code::invalid_argument, "is null", "perm");
  bool used[max_rank] = {};
  for (int k = 0; k < perm_count; ++k) {
    if (perm[k] < 0 || perm[k] >= perm_count) {
      return status(status_code::invalid_argument, "entry is outside [0, rank)", "perm", perm[k]);
    }
    if (used[perm[k]]) return status(status_code::invalid_argument, "repeats an axis", "perm", perm[k]);
    used[perm[k]] = true;
  }
  std::int64_t input_strides[max_rank] = {};
  detail::row_major_strides(input_shape, input_strides);
  transpose_params<T> p;
  p.output.rank = p.source.rank = input_shape.rank;
  for (int k = 0; k < perm_count; ++k) {
    p.output.dims[k] = input_shape.dims[perm[k]];
    p.source.extent[k] = input_shape.dims[perm[k]];
    p.source.stride[k] = input_strides[perm[k]];
  }
  return p;
}

template <class T>
constexpr result<transpose_params<T>> prepare_transpose(const quantization_params& input, const shape& input_shape,
                                                        const std::int32_t* perm, int perm_count,
                                                        const quantization_params& output) noexcept {
  QKERN_TRY(detail::require_same_quantization<T>(input, output));
  return prepare_transpose<T>(input_shape, perm, perm_count);
}

namespace scalar {

template <class T>
constexpr void transpose(const transpose_params<T>& p, const T* input, T* output) noexcept {
  gather_strided(p.source, input, output);
}

}  // namespace scalar

// --- the SIMD path ---------------------------------------------------------------------------

#if QKERN_SIMD
namespace simd {

// The block copy (simd/strided_copy.hpp): memcpy runs when the last axis stays last, 2D tile
// transposes (16x16 byte tiles in registers) when it moves; the same elements as the scalar walk.
template <class A = default_arch, class T>
void transpose(const transpose_params<T>& p, const T* input, T* output) noexcept {
  simd::gather_strided<A>(p.source, input, output);
}

}  // namespace simd
#endif  // QKERN_SIMD

// --- the public eval -------------------------------------------------------------------------

// output (shape p.output) = input with its dimensions permuted. The block copy when qkern is
// built with SIMD (the scalar reference in constant expressions); both give the same elements.
template <class T>
constexpr void transpose(const transpose_params<T>& p, const T* input, T* output) noexcept {
#if QKERN_SIMD
  if (!simd::in_constant_evaluation()) {
    simd::transpose(p, input, output);
    return;
  }
#endif
  scalar::transpose(p, input, output);
}

}  // namespace qkern
