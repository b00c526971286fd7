// Layout kernels: pad (PAD, PADV2), concatenation, transpose, strided_slice, depth_to_space,
// space_to_depth, resize_nearest_neighbor and reshape.
//
// They move values without changing them, so they are generic over the element type: each
// prepare takes shapes and options, and a quantized overload (first argument the input's
// quantization_params) also checks that the output keeps the input's quantization and derives
// what TFLite derives from it (pad's value). Concatenation's quantized overload (int8, int16)
// instead requantizes inputs whose quantization differs from the output's.
//   result<op_params<T>> prepare_op<T>(shape, options...);
//   void op(const op_params<T>&, const T* input, T* output) noexcept;  // output shape: params.output
// qkern::op is the eval to call; qkern::scalar::op is the scalar reference it currently runs.
// Most are a strided_view walked by gather_strided or scatter_strided (strided_view.hpp).
#pragma once

#include "qkern/kernels/layout/concatenation.hpp"
#include "qkern/kernels/layout/depth_to_space.hpp"
#include "qkern/kernels/layout/pad.hpp"
#include "qkern/kernels/layout/reshape.hpp"
#include "qkern/kernels/layout/resize_nearest_neighbor.hpp"
#include "qkern/kernels/layout/space_to_depth.hpp"
#include "qkern/kernels/layout/strided_slice.hpp"
#include "qkern/kernels/layout/strided_view.hpp"
#include "qkern/kernels/layout/transpose.hpp"
