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
// qkern::op is the eval to call; qkern::scalar::op is the scalar reference. With QKERN_SIMD,
// int8 conv2d, depthwise_conv2d and fully_connected run SIMD paths (qkern::simd::op<Arch>),
// bit-identical to the reference: the int8 dot products of simd/dot_product.hpp (AVX-512 VNNI,
// AVX-VNNI, AVX-512BW, AVX2, SSE4.1, NEON sdot / smull) and the per-channel requantization of
// simd/requantize_lanes.hpp. conv2d and fully_connected also take weights packed once
// (prepare reports params.packed_weights_size; pack_conv2d_weights / pack_fully_connected_
// weights fill caller storage; conv2d(p, packed, in, out) / fully_connected(p, packed, in, out)).
//
// Rounding policies: double_rounding (TFLite's default), single_rounding (TFLite built with
// TFLITE_SINGLE_ROUNDING) and fp32_scale (core/rounding_fp32.hpp: XNNPACK's qs8/qc8 float-scale
// requantization, bit-exact with XNNPACK for conv2d, depthwise_conv2d and fully_connected).
#pragma once

#include "qkern/kernels/conv/accumulator.hpp"
#include "qkern/kernels/conv/batch_matmul.hpp"
#include "qkern/kernels/conv/conv2d.hpp"
#include "qkern/kernels/conv/depthwise_conv2d.hpp"
#include "qkern/kernels/conv/fully_connected.hpp"
#include "qkern/kernels/conv/gemm.hpp"
#include "qkern/kernels/conv/multipliers.hpp"
#include "qkern/kernels/conv/packed_weights.hpp"
#include "qkern/kernels/conv/padding.hpp"
#include "qkern/kernels/conv/transpose_conv2d.hpp"
