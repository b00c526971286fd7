// Activation kernels: logistic, tanh, softmax, hard_swish, leaky_relu, prelu, relu,
// relu_n1_to_1 and relu6, in TFLite Micro's reference formulation (the golden one), plus
// logistic_lut and tanh_lut, the float-built lookup-table dialect of TFLite's own int8 kernels.
//
// Every op follows one shape:
//   result<op_params<T, Policy>> prepare_op<T, Policy>(quantizations, [attributes], shape);
//   void op(const op_params<T, Policy>&, const T* input, T* output) noexcept;
//   T op_element(const op_params<T, Policy>&, T q) noexcept;   // the per-element spec
// (softmax works per row and prelu takes a second, broadcast operand). qkern::op is the eval to
// call; qkern::scalar::op is the scalar reference it currently runs. Ops without a Q31
// multiplier (relu6, the LUT ops) have no Policy parameter.
#pragma once

#include "qkern/kernels/activation/common.hpp"
#include "qkern/kernels/activation/hard_swish.hpp"
#include "qkern/kernels/activation/leaky_relu.hpp"
#include "qkern/kernels/activation/logistic.hpp"
#include "qkern/kernels/activation/lut.hpp"
#include "qkern/kernels/activation/prelu.hpp"
#include "qkern/kernels/activation/relu.hpp"
#include "qkern/kernels/activation/sigmoid_table.hpp"
#include "qkern/kernels/activation/softmax.hpp"
#include "qkern/kernels/activation/softmax_int16_luts.hpp"
#include "qkern/kernels/activation/tanh.hpp"
