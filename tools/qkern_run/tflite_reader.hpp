// A small, bounds-checked reader for the parts of the TFLite FlatBuffers schema (schema.fbs,
// file identifier "TFL3") that qkern_run needs: Model, OperatorCode, SubGraph, Tensor,
// QuantizationParameters, Operator (with its builtin options table) and Buffer.
//
// Every offset, length and field read is checked against the file size before it is used, and
// all reads go through memcpy (a corrupt file may misalign anything), so a truncated or corrupt
// file yields a message naming what is wrong and where, never a crash. Values are copied into
// plain structs except large arrays (scales, zero points, constant data), which stay views into
// the caller's bytes: those bytes must outlive the model.
//
//   std::vector<std::uint8_t> bytes = ...;                    // the whole .tflite file
//   qkern_run::tfl::model m;
//   std::string error;
//   if (!qkern_run::tfl::parse_model(bytes.data(), bytes.size(), m, error)) { print error; }
//
// Only little-endian hosts are supported (as by TFLite itself).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace qkern_run {
namespace tfl {

// --- the schema's enums (values from schema.fbs) -----------------------------------------------

enum class tensor_type : std::int8_t {
  float32 = 0, float16 = 1, int32 = 2, uint8 = 3, int64 = 4, string = 5, boolean = 6, int16 = 7,
  complex64 = 8, int8 = 9, float64 = 10, complex128 = 11, uint64 = 12, resource = 13, variant = 14,
  uint32 = 15, uint16 = 16, int4 = 17,
};

inline const char* tensor_type_name(tensor_type t) {
  switch (t) {
    case tensor_type::float32: return "float32";
    case tensor_type::float16: return "float16";
    case tensor_type::int32: return "int32";
    case tensor_type::uint8: return "uint8";
    case tensor_type::int64: return "int64";
    case tensor_type::string: return "string";
    case tensor_type::boolean: return "bool";
    case tensor_type::int16: return "int16";
    case tensor_type::complex64: return "complex64";
    case tensor_type::int8: return "int8";
    case tensor_type::float64: return "float64";
    case tensor_type::complex128: return "complex128";
    case tensor_type::uint64: return "uint64";
    case tensor_type::resource: return "resource";
    case tensor_type::variant: return "variant";
    case tensor_type::uint32: return "uint32";
    case tensor_type::uint16: return "uint16";
    case tensor_type::int4: return "int4";
  }
  return "unknown";
}

// Bytes per element; 0 for types without a fixed size (string, resource, variant, int4, unknown).
inline std::size_t tensor_type_size(tensor_type t) {
  switch (t) {
    case tensor_type::boolean: case tensor_type::int8: case tensor_type::uint8: return 1;
    case tensor_type::float16: case tensor_type::int16: case tensor_type::uint16: return 2;
    case tensor_type::float32: case tensor_type::int32: case tensor_type::uint32: return 4;
    case tensor_type::float64: case tensor_type::int64: case tensor_type::uint64: case tensor_type::complex64: return 8;
    case tensor_type::complex128: return 16;
    default: return 0;
  }
}

inline bool is_float_type(tensor_type t) {
  return t == tensor_type::float32 || t == tensor_type::float16 || t == tensor_type::float64 ||
         t == tensor_type::complex64 || t == tensor_type::complex128;
}

// The builtin operators qkern_run names (the enum has ~200; others print as their number).
namespace op {
enum : std::int32_t {
  add = 0, average_pool_2d = 1, concatenation = 2, conv_2d = 3, depthwise_conv_2d = 4, depth_to_space = 5,
  dequantize = 6, floor = 8, fully_connected = 9, l2_normalization = 11, l2_pool_2d = 12, logistic = 14,
  lstm = 16, max_pool_2d = 17, mul = 18, relu = 19, relu_n1_to_1 = 20, relu6 = 21, reshape = 22,
  resize_bilinear = 23, softmax = 25, space_to_depth = 26, svdf = 27, tanh = 28, custom = 32, pad = 34,
  gather = 36, batch_to_space_nd = 37, space_to_batch_nd = 38, transpose = 39, mean = 40, sub = 41, div = 42,
  squeeze = 43, unidirectional_sequence_lstm = 44, strided_slice = 45, exp = 47, split = 49, log_softmax = 50,
  cast = 53, prelu = 54, maximum = 55, arg_max = 56, minimum = 57, less = 58, neg = 59, padv2 = 60, greater = 61,
  greater_equal = 62, less_equal = 63, select = 64, slice = 65, transpose_conv = 67, tile = 69, expand_dims = 70,
  equal = 71, not_equal = 72, sum = 74, sqrt = 75, rsqrt = 76, shape = 77, pow = 78, arg_min = 79,
  reduce_prod = 81, reduce_max = 82, pack = 83, unpack = 88, reduce_min = 89, square = 92, fill = 94,
  resize_nearest_neighbor = 97, leaky_relu = 98, squared_difference = 99, mirror_pad = 100, abs = 101,
  split_v = 102, quantize = 114, hard_swish = 117, batch_matmul = 126,
  placeholder_for_greater_op_codes = 127,
};
}  // namespace op

inline std::string builtin_name(std::int32_t code) {
  switch (code) {
    case op::add: return "ADD";
    case op::average_pool_2d: return "AVERAGE_POOL_2D";
    case op::concatenation: return "CONCATENATION";
    case op::conv_2d: return "CONV_2D";
    case op::depthwise_conv_2d: return "DEPTHWISE_CONV_2D";
    case op::depth_to_space: return "DEPTH_TO_SPACE";
    case op::dequantize: return "DEQUANTIZE";
    case op::floor: return "FLOOR";
    case op::fully_connected: return "FULLY_CONNECTED";
    case op::l2_normalization: return "L2_NORMALIZATION";
    case op::l2_pool_2d: return "L2_POOL_2D";
    case op::logistic: return "LOGISTIC";
    case op::lstm: return "LSTM";
    case op::max_pool_2d: return "MAX_POOL_2D";
    case op::mul: return "MUL";
    case op::relu: return "RELU";
    case op::relu_n1_to_1: return "RELU_N1_TO_1";
    case op::relu6: return "RELU6";
    case op::reshape: return "RESHAPE";
    case op::resize_bilinear: return "RESIZE_BILINEAR";
    case op::softmax: return "SOFTMAX";
    case op::space_to_depth: return "SPACE_TO_DEPTH";
    case op::svdf: return "SVDF";
    case op::tanh: return "TANH";
    case op::custom: return "CUSTOM";
    case op::pad: return "PAD";
    case op::gather: return "GATHER";
    case op::batch_to_space_nd: return "BATCH_TO_SPACE_ND";
    case op::space_to_batch_nd: return "SPACE_TO_BATCH_ND";
    case op::transpose: return "TRANSPOSE";
    case op::mean: return "MEAN";
    case op::sub: return "SUB";
    case op::div: return "DIV";
    case op::squeeze: return "SQUEEZE";
    case op::unidirectional_sequence_lstm: return "UNIDIRECTIONAL_SEQUENCE_LSTM";
    case op::strided_slice: return "STRIDED_SLICE";
    case op::exp: return "EXP";
    case op::split: return "SPLIT";
    case op::log_softmax: return "LOG_SOFTMAX";
    case op::cast: return "CAST";
    case op::prelu: return "PRELU";
    case op::maximum: return "MAXIMUM";
    case op::arg_max: return "ARG_MAX";
    case op::minimum: return "MINIMUM";
    case op::less: return "LESS";
    case op::neg: return "NEG";
    case op::padv2: return "PADV2";
    case op::greater: return "GREATER";
    case op::greater_equal: return "GREATER_EQUAL";
    case op::less_equal: return "LESS_EQUAL";
    case op::select: return "SELECT";
    case op::slice: return "SLICE";
    case op::transpose_conv: return "TRANSPOSE_CONV";
    case op::tile: return "TILE";
    case op::expand_dims: return "EXPAND_DIMS";
    case op::equal: return "EQUAL";
    case op::not_equal: return "NOT_EQUAL";
    case op::sum: return "SUM";
    case op::sqrt: return "SQRT";
    case op::rsqrt: return "RSQRT";
    case op::shape: return "SHAPE";
    case op::pow: return "POW";
    case op::arg_min: return "ARG_MIN";
    case op::reduce_prod: return "REDUCE_PROD";
    case op::reduce_max: return "REDUCE_MAX";
    case op::pack: return "PACK";
    case op::unpack: return "UNPACK";
    case op::reduce_min: return "REDUCE_MIN";
    case op::square: return "SQUARE";
    case op::fill: return "FILL";
    case op::resize_nearest_neighbor: return "RESIZE_NEAREST_NEIGHBOR";
    case op::leaky_relu: return "LEAKY_RELU";
    case op::squared_difference: return "SQUARED_DIFFERENCE";
    case op::mirror_pad: return "MIRROR_PAD";
    case op::abs: return "ABS";
    case op::split_v: return "SPLIT_V";
    case op::quantize: return "QUANTIZE";
    case op::hard_swish: return "HARD_SWISH";
    case op::batch_matmul: return "BATCH_MATMUL";
    default: return "BUILTIN_" + std::to_string(code);
  }
}

// BuiltinOptions union members qkern_run reads (their position in the union, NONE = 0).
namespace options_type {
enum : std::uint8_t {
  none = 0, conv_2d = 1, depthwise_conv_2d = 2, pool_2d = 5, fully_connected = 8, softmax = 9,
  concatenation = 10, add = 11, reshape = 17, mul = 21, pad = 22, transpose = 26, reducer = 27, sub = 28,
  squeeze = 30, strided_slice = 32, leaky_relu = 75, quantize = 89, hard_swish = 91,
};
}  // namespace options_type

// ActivationFunctionType and Padding.
enum class activation_type : std::int8_t { none = 0, relu = 1, relu_n1_to_1 = 2, relu6 = 3, tanh = 4, sign_bit = 5 };
enum class padding_type : std::int8_t { same = 0, valid = 1 };

// --- the low-level FlatBuffers reader ----------------------------------------------------------

// A table after its vtable has been checked: fields are read through reader::field.
struct fb_table {
  std::size_t pos = 0;     // the table's start (its soffset to the vtable)
  std::size_t vtable = 0;  // the vtable's start
  std::uint16_t vtable_size = 0;
  std::uint16_t table_size = 0;
  bool present = false;
};

// A vector whose elements all lie inside the file: `count` elements of `element_size` bytes
// starting at `pos` (just past the length prefix).
struct fb_vector {
  std::size_t pos = 0;
  std::size_t count = 0;
  std::size_t element_size = 0;
  bool present = false;
};

class reader {
 public:
  // How many bytes of structures the parse may build: a guard against files that point many
  // tables at one huge vector (or declare millions of tiny tables). Honest files need far less
  // than 64 bytes per byte of file.
  static constexpr std::uint64_t min_budget = std::uint64_t{16} << 20;

  reader(const std::uint8_t* data, std::size_t size) noexcept
      : data_(data), size_(size), budget_(min_budget + 64 * static_cast<std::uint64_t>(size)) {}

  const std::uint8_t* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  const std::string& error() const noexcept { return error_; }

  // Records the first error; returns false so callers can `return fail(...)`.
  bool fail(const std::string& message) {
    if (error_.empty()) error_ = message;
    return false;
  }
  // Prefixes the recorded error with where it happened; returns false.
  bool context(const std::string& where) {
    error_ = where + ": " + error_;
    return false;
  }

  // True when [pos, pos + bytes) lies inside the file (no overflow on huge values).
  bool in_bounds(std::uint64_t pos, std::uint64_t bytes) const noexcept {
    return pos <= size_ && bytes <= size_ - pos;
  }

  template <class T>
  T load(std::size_t pos) const noexcept {  // precondition: in_bounds(pos, sizeof(T))
    static_assert(std::is_trivially_copyable<T>::value, "plain values only");
    T v;
    std::memcpy(&v, data_ + pos, sizeof(T));
    return v;
  }

  // Charges `bytes` of memory the parse is about to allocate against the budget.
  bool spend(std::uint64_t bytes, const char* what) {
    if (bytes > budget_) {
      return fail(std::string(what) + ": the file describes far more structure than its size allows "
                  "(shared or overlapping vectors?)");
    }
    budget_ -= bytes;
    return true;
  }

  // The table that starts at pos, with its vtable checked.
  bool table_at(std::uint64_t pos, fb_table& t) {
    if (!in_bounds(pos, 4)) return fail(describe("table", pos, 4));
    const auto soffset = load<std::int32_t>(static_cast<std::size_t>(pos));
    const std::int64_t vtable = static_cast<std::int64_t>(pos) - soffset;
    if (vtable < 0 || !in_bounds(static_cast<std::uint64_t>(vtable), 4)) {
      return fail("table at offset " + std::to_string(pos) + " has a vtable outside the file (at " +
                  std::to_string(vtable) + ")");
    }
    t.pos = static_cast<std::size_t>(pos);
    t.vtable = static_cast<std::size_t>(vtable);
    t.vtable_size = load<std::uint16_t>(t.vtable);
    t.table_size = load<std::uint16_t>(t.vtable + 2);
    if (t.vtable_size < 4 || t.vtable_size % 2 != 0 || !in_bounds(t.vtable, t.vtable_size)) {
      return fail("table at offset " + std::to_string(pos) + " has a malformed vtable (size " +
                  std::to_string(t.vtable_size) + ")");
    }
    if (t.table_size < 4 || !in_bounds(t.pos, t.table_size)) {
      return fail("table at offset " + std::to_string(pos) + " (" + std::to_string(t.table_size) +
                  " bytes) runs past the end of the file (" + std::to_string(size_) + " bytes)");
    }
    t.present = true;
    return true;
  }

  // The absolute position of field `index` of t, or 0 when the field is absent. The field's
  // `width` bytes are checked to lie inside the table.
  bool field(const fb_table& t, int index, std::size_t width, std::size_t& pos) {
    pos = 0;
    if (!t.present) return true;
    const std::size_t slot = 4 + 2 * static_cast<std::size_t>(index);
    if (slot + 2 > t.vtable_size) return true;
    const std::uint16_t offset = load<std::uint16_t>(t.vtable + slot);
    if (offset == 0) return true;
    if (offset < 4 || static_cast<std::size_t>(offset) + width > t.table_size) {
      return fail("field " + std::to_string(index) + " of the table at offset " + std::to_string(t.pos) +
                  " lies outside its table");
    }
    pos = t.pos + offset;
    return true;
  }

  template <class T>
  bool scalar(const fb_table& t, int index, T default_value, T& out) {
    out = default_value;
    std::size_t pos = 0;
    if (!field(t, index, sizeof(T), pos)) return false;
    if (pos != 0) out = load<T>(pos);
    return true;
  }

  // Follows the uoffset stored in field `index` (a table, vector or string); 0 when absent.
  bool reference(const fb_table& t, int index, std::uint64_t& target) {
    target = 0;
    std::size_t pos = 0;
    if (!field(t, index, 4, pos)) return false;
    if (pos == 0) return true;
    return follow(pos, target);
  }

  // The uoffset stored at pos (already checked to be inside the file), resolved.
  bool follow(std::size_t pos, std::uint64_t& target) {
    const std::uint32_t offset = load<std::uint32_t>(pos);
    target = static_cast<std::uint64_t>(pos) + offset;
    if (offset == 0) return fail("offset stored at " + std::to_string(pos) + " is 0 (it would point at itself)");
    if (!in_bounds(target, 4)) {
      return fail("offset " + std::to_string(offset) + " stored at " + std::to_string(pos) +
                  " points outside the file (" + std::to_string(size_) + " bytes)");
    }
    return true;
  }

  bool sub_table(const fb_table& t, int index, fb_table& out) {
    out = fb_table{};
    std::uint64_t target = 0;
    if (!reference(t, index, target)) return false;
    if (target == 0) return true;
    return table_at(target, out);
  }

  bool vector_at(std::uint64_t pos, std::size_t element_size, fb_vector& v) {
    if (!in_bounds(pos, 4)) return fail(describe("vector length", pos, 4));
    const std::uint32_t count = load<std::uint32_t>(static_cast<std::size_t>(pos));
    const std::uint64_t bytes = static_cast<std::uint64_t>(count) * element_size;
    if (!in_bounds(pos + 4, bytes)) {
      return fail("vector at offset " + std::to_string(pos) + " declares " + std::to_string(count) + " elements (" +
                  std::to_string(bytes) + " bytes) but the file ends at " + std::to_string(size_));
    }
    v.pos = static_cast<std::size_t>(pos) + 4;
    v.count = count;
    v.element_size = element_size;
    v.present = true;
    return true;
  }

  bool vector(const fb_table& t, int index, std::size_t element_size, fb_vector& v) {
    v = fb_vector{};
    std::uint64_t target = 0;
    if (!reference(t, index, target)) return false;
    if (target == 0) return true;
    return vector_at(target, element_size, v);
  }

  // Element i of a vector of tables.
  bool table_element(const fb_vector& v, std::size_t i, fb_table& out) {
    std::uint64_t target = 0;
    if (!follow(v.pos + 4 * i, target)) return false;
    return table_at(target, out);
  }

  // A string field as a view into the file (empty when absent).
  bool string(const fb_table& t, int index, std::string_view& out) {
    out = {};
    fb_vector v;
    if (!vector(t, index, 1, v)) return false;
    if (v.present) out = std::string_view(reinterpret_cast<const char*>(data_ + v.pos), v.count);
    return true;
  }

  // Copies a vector of T (int32, uint8, ...) into out, charging the copy budget.
  template <class T>
  bool copy_vector(const fb_vector& v, std::vector<T>& out, const char* what) {
    out.clear();
    if (!v.present) return true;
    if (!spend(static_cast<std::uint64_t>(v.count) * sizeof(T), what)) return false;
    out.resize(v.count);
    if (v.count > 0) std::memcpy(out.data(), data_ + v.pos, v.count * sizeof(T));
    return true;
  }

 private:
  std::string describe(const char* what, std::uint64_t pos, std::uint64_t bytes) const {
    return std::string(what) + " at offset " + std::to_string(pos) + " (" + std::to_string(bytes) +
           " bytes) lies past the end of the file (" + std::to_string(size_) + " bytes)";
  }

  const std::uint8_t* data_;
  std::size_t size_;
  std::uint64_t budget_;
  std::string error_;
};

// --- the model -----------------------------------------------------------------------------

// A typed array that stays in the file: `count` little-endian values of T at `pos`.
template <class T>
struct file_array {
  const std::uint8_t* base = nullptr;
  std::size_t pos = 0;
  std::size_t count = 0;

  std::size_t size() const noexcept { return count; }
  bool empty() const noexcept { return count == 0; }
  T operator[](std::size_t i) const noexcept {  // precondition: i < count
    T v;
    std::memcpy(&v, base + pos + i * sizeof(T), sizeof(T));
    return v;
  }
};

struct quantization {
  bool present = false;             // the tensor has a QuantizationParameters table
  file_array<float> scale;
  file_array<std::int64_t> zero_point;
  file_array<float> min;
  file_array<float> max;
  std::int32_t quantized_dimension = 0;
  std::uint8_t details_type = 0;    // non-zero: custom quantization (scale/zero_point ignored)

  // Quantized in the affine sense: at least one scale.
  bool is_affine() const noexcept { return present && details_type == 0 && !scale.empty(); }
  bool per_channel() const noexcept { return scale.size() > 1; }
};

struct tensor {
  std::vector<std::int32_t> shape;
  std::vector<std::int32_t> shape_signature;  // -1 marks a dynamic extent
  tensor_type type = tensor_type::float32;
  std::int8_t raw_type = 0;  // as stored (type holds the same value when it is known)
  std::uint32_t buffer = 0;
  std::string_view name;
  quantization q;
  bool is_variable = false;
  bool has_sparsity = false;
};

struct operator_code {
  std::int32_t builtin = 0;  // the effective code: max(builtin_code, deprecated_builtin_code)
  std::int8_t deprecated_builtin_code = 0;
  std::int32_t builtin_code = 0;
  std::string_view custom_code;
  std::int32_t version = 1;
};

struct operator_ {
  std::uint32_t opcode_index = 0;
  std::vector<std::int32_t> inputs;   // -1 marks an omitted optional input
  std::vector<std::int32_t> outputs;
  std::vector<std::int32_t> intermediates;
  std::uint8_t options_type = options_type::none;
  fb_table options;                   // present when the op has a builtin options table
  bool has_custom_options = false;
};

struct buffer {
  const std::uint8_t* data = nullptr;  // into the file; nullptr when empty
  std::size_t size = 0;
};

struct subgraph {
  std::vector<tensor> tensors;
  std::vector<std::int32_t> inputs;
  std::vector<std::int32_t> outputs;
  std::vector<operator_> operators;
  std::string_view name;
};

struct model {
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
  std::uint32_t version = 0;
  std::vector<operator_code> operator_codes;
  std::vector<subgraph> subgraphs;
  std::vector<buffer> buffers;
  std::string_view description;
};

// Limits that keep a corrupt file from asking for absurd work; real models are far below.
inline constexpr std::size_t max_tensor_rank = 16;

namespace detail {

inline bool parse_quantization(reader& r, const fb_table& t, quantization& q) {
  q = quantization{};
  if (!t.present) return true;
  q.present = true;
  fb_vector v;
  if (!r.vector(t, 0, 4, v)) return r.context("min");
  q.min = {r.data(), v.pos, v.count};
  if (!r.vector(t, 1, 4, v)) return r.context("max");
  q.max = {r.data(), v.pos, v.count};
  if (!r.vector(t, 2, 4, v)) return r.context("scale");
  q.scale = {r.data(), v.pos, v.count};
  if (!r.vector(t, 3, 8, v)) return r.context("zero_point");
  q.zero_point = {r.data(), v.pos, v.count};
  if (!r.scalar<std::uint8_t>(t, 4, 0, q.details_type)) return r.context("details");
  if (!r.scalar<std::int32_t>(t, 6, 0, q.quantized_dimension)) return r.context("quantized_dimension");
  return true;
}

inline bool parse_tensor(reader& r, const fb_table& t, tensor& out) {
  fb_vector v;
  if (!r.vector(t, 0, 4, v)) return r.context("shape");
  if (v.count > max_tensor_rank) {
    return r.fail("shape has rank " + std::to_string(v.count) + ", above the limit of " +
                  std::to_string(max_tensor_rank));
  }
  if (!r.copy_vector(v, out.shape, "shape")) return false;
  std::int8_t type = 0;
  if (!r.scalar<std::int8_t>(t, 1, 0, type)) return r.context("type");
  out.raw_type = type;
  out.type = static_cast<tensor_type>(type);
  if (!r.scalar<std::uint32_t>(t, 2, 0, out.buffer)) return r.context("buffer");
  if (!r.string(t, 3, out.name)) return r.context("name");
  fb_table q;
  if (!r.sub_table(t, 4, q)) return r.context("quantization");
  if (!parse_quantization(r, q, out.q)) return r.context("quantization");
  std::uint8_t variable = 0;
  if (!r.scalar<std::uint8_t>(t, 5, 0, variable)) return r.context("is_variable");
  out.is_variable = variable != 0;
  std::uint64_t sparsity = 0;
  if (!r.reference(t, 6, sparsity)) return r.context("sparsity");
  out.has_sparsity = sparsity != 0;
  if (!r.vector(t, 7, 4, v)) return r.context("shape_signature");
  if (v.count > max_tensor_rank) return r.fail("shape_signature has rank " + std::to_string(v.count));
  if (!r.copy_vector(v, out.shape_signature, "shape_signature")) return false;
  return true;
}

inline bool parse_operator(reader& r, const fb_table& t, operator_& out) {
  if (!r.scalar<std::uint32_t>(t, 0, 0, out.opcode_index)) return r.context("opcode_index");
  fb_vector v;
  if (!r.vector(t, 1, 4, v) || !r.copy_vector(v, out.inputs, "inputs")) return r.context("inputs");
  if (!r.vector(t, 2, 4, v) || !r.copy_vector(v, out.outputs, "outputs")) return r.context("outputs");
  if (!r.scalar<std::uint8_t>(t, 3, 0, out.options_type)) return r.context("builtin_options_type");
  if (out.options_type != options_type::none) {
    if (!r.sub_table(t, 4, out.options)) return r.context("builtin_options");
  }
  std::uint64_t custom = 0;
  if (!r.reference(t, 5, custom)) return r.context("custom_options");
  out.has_custom_options = custom != 0;
  if (!r.vector(t, 8, 4, v) || !r.copy_vector(v, out.intermediates, "intermediates")) {
    return r.context("intermediates");
  }
  return true;
}

inline bool check_tensor_index(reader& r, std::int32_t index, std::size_t tensor_count, bool optional_allowed,
                               const char* role, std::size_t position) {
  if (index == -1 && optional_allowed) return true;
  if (index < 0 || static_cast<std::size_t>(index) >= tensor_count) {
    return r.fail(std::string(role) + " " + std::to_string(position) + " refers to tensor " + std::to_string(index) +
                  " but the subgraph has " + std::to_string(tensor_count) + " tensors");
  }
  return true;
}

inline bool parse_subgraph(reader& r, const fb_table& t, subgraph& out, std::size_t buffer_count,
                           std::size_t opcode_count) {
  fb_vector tensors;
  if (!r.vector(t, 0, 4, tensors)) return r.context("tensors");
  if (!r.spend(tensors.count * sizeof(tensor), "tensors")) return false;
  out.tensors.resize(tensors.count);
  for (std::size_t i = 0; i < tensors.count; ++i) {
    fb_table tt;
    if (!r.table_element(tensors, i, tt) || !parse_tensor(r, tt, out.tensors[i])) {
      return r.context("tensor " + std::to_string(i));
    }
    if (out.tensors[i].buffer >= buffer_count && !(buffer_count == 0 && out.tensors[i].buffer == 0)) {
      r.fail("refers to buffer " + std::to_string(out.tensors[i].buffer) + " but the model has " +
             std::to_string(buffer_count) + " buffers");
      return r.context("tensor " + std::to_string(i));
    }
  }
  fb_vector v;
  if (!r.vector(t, 1, 4, v) || !r.copy_vector(v, out.inputs, "inputs")) return r.context("inputs");
  if (!r.vector(t, 2, 4, v) || !r.copy_vector(v, out.outputs, "outputs")) return r.context("outputs");
  for (std::size_t i = 0; i < out.inputs.size(); ++i) {
    if (!check_tensor_index(r, out.inputs[i], tensors.count, false, "input", i)) return false;
  }
  for (std::size_t i = 0; i < out.outputs.size(); ++i) {
    if (!check_tensor_index(r, out.outputs[i], tensors.count, false, "output", i)) return false;
  }
  fb_vector ops;
  if (!r.vector(t, 3, 4, ops)) return r.context("operators");
  if (!r.spend(ops.count * sizeof(operator_), "operators")) return false;
  out.operators.resize(ops.count);
  for (std::size_t i = 0; i < ops.count; ++i) {
    fb_table ot;
    operator_& o = out.operators[i];
    if (!r.table_element(ops, i, ot) || !parse_operator(r, ot, o)) return r.context("operator " + std::to_string(i));
    bool ok = o.opcode_index < opcode_count ||
              r.fail("opcode_index " + std::to_string(o.opcode_index) + " is out of range (the model has " +
                     std::to_string(opcode_count) + " operator codes)");
    for (std::size_t k = 0; ok && k < o.inputs.size(); ++k) ok = check_tensor_index(r, o.inputs[k], tensors.count, true, "input", k);
    for (std::size_t k = 0; ok && k < o.outputs.size(); ++k) ok = check_tensor_index(r, o.outputs[k], tensors.count, false, "output", k);
    for (std::size_t k = 0; ok && k < o.intermediates.size(); ++k) {
      ok = check_tensor_index(r, o.intermediates[k], tensors.count, false, "intermediate", k);
    }
    if (!ok) return r.context("operator " + std::to_string(i));
  }
  if (!r.string(t, 4, out.name)) return r.context("name");
  return true;
}

}  // namespace detail

// Parses a whole .tflite file. On failure returns false with a message in `error` that says
// what is wrong and where (e.g. "subgraph 0: tensor 12: shape: vector at offset ... runs past
// the end of the file"). `data` must outlive `out`.
inline bool parse_model(const std::uint8_t* data, std::size_t size, model& out, std::string& error) {
  out = model{};
  out.data = data;
  out.size = size;
  reader r(data, size);
  const auto finish = [&](bool ok) {
    if (!ok) error = r.error().empty() ? "malformed model" : r.error();
    return ok;
  };
  if (data == nullptr || size < 8) {
    r.fail("file is too small to be a TFLite model (" + std::to_string(size) + " bytes; at least 8 are needed)");
    return finish(false);
  }
  if (std::memcmp(data + 4, "TFL3", 4) != 0) {
    r.fail("not a TFLite model: the FlatBuffers file identifier at bytes 4..7 is not \"TFL3\"");
    return finish(false);
  }
  std::uint64_t root = 0;
  fb_table m;
  if (!r.follow(0, root) || !r.table_at(root, m)) return finish(r.context("model root table"));
  if (!r.scalar<std::uint32_t>(m, 0, 0, out.version)) return finish(r.context("model version"));

  fb_vector codes;
  if (!r.vector(m, 1, 4, codes)) return finish(r.context("operator_codes"));
  if (!r.spend(codes.count * sizeof(operator_code), "operator_codes")) return finish(false);
  out.operator_codes.resize(codes.count);
  for (std::size_t i = 0; i < codes.count; ++i) {
    fb_table t;
    operator_code& c = out.operator_codes[i];
    bool ok = r.table_element(codes, i, t) && r.scalar<std::int8_t>(t, 0, 0, c.deprecated_builtin_code) &&
              r.string(t, 1, c.custom_code) && r.scalar<std::int32_t>(t, 2, 1, c.version) &&
              r.scalar<std::int32_t>(t, 3, 0, c.builtin_code);
    if (!ok) return finish(r.context("operator code " + std::to_string(i)));
    // Files from before the 32-bit field carry the code only in the byte; newer ones write
    // the placeholder (127) into the byte for codes above it. The larger of the two is the code.
    c.builtin = c.builtin_code > c.deprecated_builtin_code ? c.builtin_code : c.deprecated_builtin_code;
    if (c.builtin < 0) {
      r.fail("builtin code " + std::to_string(c.builtin) + " is negative");
      return finish(r.context("operator code " + std::to_string(i)));
    }
  }

  fb_vector buffers;
  if (!r.vector(m, 4, 4, buffers)) return finish(r.context("buffers"));
  if (!r.spend(buffers.count * sizeof(buffer), "buffers")) return finish(false);
  out.buffers.resize(buffers.count);
  for (std::size_t i = 0; i < buffers.count; ++i) {
    fb_table t;
    fb_vector bytes;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    bool ok = r.table_element(buffers, i, t) && r.vector(t, 0, 1, bytes) && r.scalar<std::uint64_t>(t, 1, 0, offset) &&
              r.scalar<std::uint64_t>(t, 2, 0, length);
    if (!ok) return finish(r.context("buffer " + std::to_string(i)));
    if (bytes.present && bytes.count > 0) {
      out.buffers[i] = {data + bytes.pos, bytes.count};
    } else if (offset > 1) {  // data stored after the flatbuffer (models above 2 GB)
      if (!r.in_bounds(offset, length)) {
        r.fail("external data [" + std::to_string(offset) + ", +" + std::to_string(length) +
               ") lies outside the file (" + std::to_string(size) + " bytes)");
        return finish(r.context("buffer " + std::to_string(i)));
      }
      out.buffers[i] = {data + offset, static_cast<std::size_t>(length)};
    }
  }

  fb_vector subgraphs;
  if (!r.vector(m, 2, 4, subgraphs)) return finish(r.context("subgraphs"));
  if (!r.spend(subgraphs.count * sizeof(subgraph), "subgraphs")) return finish(false);
  if (subgraphs.count == 0) {
    r.fail("the model has no subgraph");
    return finish(false);
  }
  out.subgraphs.resize(subgraphs.count);
  for (std::size_t i = 0; i < subgraphs.count; ++i) {
    fb_table t;
    if (!r.table_element(subgraphs, i, t) ||
        !detail::parse_subgraph(r, t, out.subgraphs[i], out.buffers.size(), out.operator_codes.size())) {
      return finish(r.context("subgraph " + std::to_string(i)));
    }
  }
  if (!r.string(m, 3, out.description)) return finish(r.context("description"));
  return finish(true);
}

// --- builtin options -----------------------------------------------------------------------

// Reads fields of an operator's builtin options table (checked again on every read). A missing
// table or field gives the schema default.
class options_reader {
 public:
  options_reader(const model& m, const operator_& o) : r_(m.data, m.size), table_(o.options) {}

  bool ok() const noexcept { return r_.error().empty(); }
  const std::string& error() const noexcept { return r_.error(); }

  std::int32_t i32(int field, std::int32_t default_value = 0) { return get<std::int32_t>(field, default_value); }
  std::int8_t i8(int field, std::int8_t default_value = 0) { return get<std::int8_t>(field, default_value); }
  bool boolean(int field, bool default_value = false) { return get<std::uint8_t>(field, default_value ? 1 : 0) != 0; }
  float f32(int field, float default_value = 0.0f) { return get<float>(field, default_value); }
  std::vector<std::int32_t> i32_vector(int field) {
    std::vector<std::int32_t> out;
    fb_vector v;
    if (r_.vector(table_, field, 4, v) && v.count <= 1024) r_.copy_vector(v, out, "options vector");
    else if (v.count > 1024) r_.fail("options vector of " + std::to_string(v.count) + " entries is too long");
    return out;
  }

 private:
  template <class T>
  T get(int field, T default_value) {
    T value = default_value;
    if (!r_.scalar<T>(table_, field, default_value, value)) return default_value;
    return value;
  }

  reader r_;
  fb_table table_;
};

}  // namespace tfl
}  // namespace qkern_run
