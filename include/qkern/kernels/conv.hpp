// Kernels with weights: conv2d, depthwise_conv2d, fully_connected, transpose_conv2d and
// batch_matmul (int8; conv, depthwise and fully connected also int16x8).
//
// Every op follows one shape:
//   result<op_params<T, Policy[, Bias]>> prepare_op<T, Policy[, Bias]>(quantizations, shapes, [bias],
//                                                                    options, [multiplier storage]);
//   void op(const op_params&, inputs..., [bias], output) noexcept;   // transpose_conv2d: + scratch
// prepare derives the output shape, the padding, the multipliers (per output channel, written
// into caller storage: see conv/multipliers.hpp), the clamp range and any scratch size, and
// refuses parameters whose accumulator could overflow (conv/accumulator.hpp states the bound).
// qkern::op is the eval to call; qkern::scalar::op is the scalar reference it currently runs.
#pragma once

#include "qkern/kernels/conv/accumulator.hpp"
#include "qkern/kernels/conv/batch_matmul.hpp"
#include "qkern/kernels/conv/conv2d.hpp"
#include "qkern/kernels/conv/depthwise_conv2d.hpp"
#include "qkern/kernels/conv/fully_connected.hpp"
#include "qkern/kernels/conv/multipliers.hpp"
#include "qkern/kernels/conv/padding.hpp"
#include "qkern/kernels/conv/transpose_conv2d.hpp"
