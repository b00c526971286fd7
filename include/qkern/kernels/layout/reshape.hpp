// reshape: a view of the same elements under a new shape. Nothing moves; prepare validates the
// new shape (at most one extent -1, inferred from the element count, as TFLite allows) and
// returns it. The eval only copies for hosts that cannot alias input and output.
//
//   const std::int32_t dims[2] = {1, -1};
//   auto p = qkern::prepare_reshape(input_shape, dims, 2);   // p->output == [1, element count]
#pragma once

#include <cstdint>

#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"

namespace qkern {

struct reshape_params {
  shape output;
  std::int64_t count = 0;  // elements, the same before and after
};

// new_extents holds rank entries: extents >= 0, or a single -1 for "whatever remains".
constexpr result<reshape_params> prepare_reshape(const shape& input_shape, const std::int32_t* new_extents,
                                                 int rank) noexcept {
  QKERN_TRY(validate_shape(input_shape, "input"));
  if (rank < 0 || rank > max_rank) return status(status_code::rank_too_large, "rank is outside [0, 6]", "output", rank);
  if (new_extents == nullptr && rank > 0) return status(status_code::invalid_argument, "is null", "new shape");
  reshape_params p;
  p.count = input_shape.element_count();
  p.output.rank = rank;
  int inferred = -1;
  std::int64_t known = 1;
  for (int i = 0; i < rank; ++i) {
    const std::int32_t e = new_extents[i];
    if (e == -1) {
      if (inferred >= 0) return status(status_code::invalid_argument, "has more than one extent -1", "new shape");
      inferred = i;
      continue;
    }
    if (e < 0) return status(status_code::invalid_shape, "extent is negative", "new shape", e);
    p.output.dims[i] = e;
    known *= e;
    if (known > max_element_count) return status(status_code::invalid_shape, "element count exceeds 2^31", "new shape");
  }
  if (inferred >= 0) {
    if (known == 0 || p.count % known != 0) {
      return status(status_code::invalid_shape, "the -1 extent cannot be inferred from the element count", "new shape",
                    p.count);
    }
    p.output.dims[inferred] = static_cast<std::int32_t>(p.count / known);
    known = p.count;
  }
  if (known != p.count) {
    return status(status_code::invalid_shape, "element count differs from the input's", "new shape", known);
  }
  return p;
}

namespace scalar {

template <class T>
constexpr void reshape(const reshape_params& p, const T* input, T* output) noexcept {
  if (input == output) return;
  for (std::int64_t i = 0; i < p.count; ++i) output[i] = input[i];
}

}  // namespace scalar

// A copy of p.count elements; with output == input, nothing.
template <class T>
constexpr void reshape(const reshape_params& p, const T* input, T* output) noexcept {
  scalar::reshape(p, input, output);
}

}  // namespace qkern
