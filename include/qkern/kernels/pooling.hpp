// Pooling kernels: max_pool2d and average_pool2d (int8, int16; NHWC; SAME/VALID padding,
// strides, fused activation) and mean over any axes (int8, int16; the global average pool).
//
// Every op follows one shape:
//   result<op_params<T[, Policy]>> prepare_op<T[, Policy]>(quantizations, shape, options...);
//   void op(const op_params&, const T* input, T* output) noexcept;
// qkern::op is the eval to call; qkern::scalar::op is the scalar reference it currently runs.
// The output's shape is params.output. Only mean depends on the rounding policy.
#pragma once

#include "qkern/kernels/pooling/average_pool2d.hpp"
#include "qkern/kernels/pooling/max_pool2d.hpp"
#include "qkern/kernels/pooling/mean.hpp"
#include "qkern/kernels/pooling/window.hpp"
