// Elementwise kernels: add, sub, mul, maximum, minimum, squared_difference, the six
// comparisons, quantize, dequantize and requantize.
//
// Every op follows one shape:
//   result<op_params<T, Policy>> prepare_op<T, Policy>(quantizations, shapes, [activation]);
//   void op(const op_params<T, Policy>&, const T* input1, const T* input2, T* output) noexcept;
//   T op_element(const op_params<T, Policy>&, T a, T b) noexcept;   // the per-element spec
// qkern::op is the eval to call; qkern::scalar::op is the scalar reference it currently runs.
// Binary ops broadcast NumPy-style through binary_loop; the output holds
// params.broadcast.output_count elements.
#pragma once

#include "qkern/kernels/elementwise/add_sub.hpp"
#include "qkern/kernels/elementwise/binary_loop.hpp"
#include "qkern/kernels/elementwise/common.hpp"
#include "qkern/kernels/elementwise/comparison.hpp"
#include "qkern/kernels/elementwise/minmax.hpp"
#include "qkern/kernels/elementwise/mul.hpp"
#include "qkern/kernels/elementwise/quantize.hpp"
#include "qkern/kernels/elementwise/squared_difference.hpp"
