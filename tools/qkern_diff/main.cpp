// qkern_diff: compares a device's tensor with the interpreter's and explains the difference.
//
//   qkern_diff OBSERVED EXPECTED [--shape D0,D1,...] [--dtype int8|int16|uint8] [--op OP.json]
//   qkern_diff --op OP.json OBSERVED          (no expected tensor: compared with qkern's reference)
//
// Tensors are raw little-endian files or .npy files (recognised by their magic bytes). It prints
// the statistics (mismatches, max |diff|, histogram, first mismatching coordinates, per-channel
// breakdown) and, given the op in a JSON file (docs/discrepancy.md), the diagnosis: which
// arithmetic dialect or porting mistake reproduces the observed tensor.
//
// Exit status: 0 the tensors are identical, 2 they differ, 1 bad arguments or files.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <initializer_list>
#include <limits>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "qkern/testing/compare.hpp"
#include "qkern/testing/diagnose.hpp"
#include "qkern/testing/npy.hpp"

namespace {

using qkern::testing::npy_dtype;

constexpr int exit_identical = 0;
constexpr int exit_error = 1;
constexpr int exit_differ = 2;

// Errors worth a clean message and exit status 1.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const char* const usage_text =
    "usage: qkern_diff OBSERVED EXPECTED [options]\n"
    "       qkern_diff --op OP.json OBSERVED [options]\n"
    "\n"
    "Compares a device's tensor (OBSERVED) with the interpreter's (EXPECTED), element by element,\n"
    "and with --op explains the difference: which rounding dialect (double, single, XNNPACK fp32,\n"
    "TFLite's logistic/tanh table) or porting mistake (zero-point sign, NHWC/NCHW swap) reproduces\n"
    "the observed tensor, or \"none: not a rounding difference\".\n"
    "\n"
    "Tensors are .npy files (int8 '|i1', uint8 '|u1', int16 '<i2'; C order) or raw little-endian files.\n"
    "\n"
    "options:\n"
    "  --shape D0,D1,...   the tensors' shape (raw files; for .npy it must have the same element count\n"
    "                      and replaces the file's shape). Default: the .npy shape, the op's output\n"
    "                      shape, or a flat vector.\n"
    "  --dtype T           element type of raw files: int8 (default), int16 or uint8\n"
    "  --op FILE.json      the op, its parameters and inputs (docs/discrepancy.md): diagnose (int8).\n"
    "                      Without EXPECTED, qkern's reference recomputation stands in for it.\n"
    "  --first N           list the first N mismatches (default 10)\n"
    "  --channels N        list at most N mismatching channels (default 16)\n"
    "  -h, --help          this text\n"
    "\n"
    "exit status: 0 identical, 2 the tensors differ, 1 bad arguments or files\n";

struct options {
  std::vector<std::string> files;
  std::optional<qkern::shape> shape;
  npy_dtype raw_dtype = npy_dtype::int8;
  std::string op_path;
  std::size_t first = 10;
  std::size_t channels = 16;
};

std::size_t parse_count(const std::string& text, const char* option) {
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < 0 || v > 1000000) {
    throw usage_error(std::string(option) + " needs a count between 0 and 1000000, got '" + text + "'");
  }
  return static_cast<std::size_t>(v);
}

qkern::shape parse_shape(const std::string& text) {
  qkern::shape s;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (s.rank == qkern::max_rank) throw usage_error("--shape has more than 6 dimensions: '" + text + "'");
    char* end = nullptr;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < 0 || v > INT32_MAX) {
      throw usage_error("--shape takes non-negative extents separated by commas, got '" + text + "'");
    }
    s.dims[s.rank++] = static_cast<std::int32_t>(v);
  }
  if (!qkern::validate_shape(s).ok()) throw usage_error("--shape has more than 2^31 elements: '" + text + "'");
  return s;
}

npy_dtype parse_dtype(const std::string& text) {
  if (text == "int8") return npy_dtype::int8;
  if (text == "int16") return npy_dtype::int16;
  if (text == "uint8") return npy_dtype::uint8;
  throw usage_error("--dtype is int8, int16 or uint8, got '" + text + "'");
}

options parse_arguments(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw usage_error(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "-h" || arg == "--help") {
      std::fputs(usage_text, stdout);
      std::exit(exit_identical);
    } else if (arg == "--shape") {
      o.shape = parse_shape(value());
    } else if (arg == "--dtype") {
      o.raw_dtype = parse_dtype(value());
    } else if (arg == "--op") {
      o.op_path = value();
    } else if (arg == "--first") {
      o.first = parse_count(value(), "--first");
    } else if (arg == "--channels") {
      o.channels = parse_count(value(), "--channels");
    } else if (arg.size() > 1 && arg[0] == '-') {
      throw usage_error("unknown option '" + arg + "' (see --help)");
    } else {
      o.files.push_back(arg);
    }
  }
  if (o.files.empty() || o.files.size() > 2) {
    throw usage_error("give OBSERVED and EXPECTED tensor files (or OBSERVED alone with --op); see --help");
  }
  if (o.files.size() == 1 && o.op_path.empty()) {
    throw usage_error("only one tensor given: add EXPECTED, or --op to compare with qkern's recomputation");
  }
  return o;
}

bool is_npy(const std::vector<unsigned char>& bytes) {
  return bytes.size() >= 6 && bytes[0] == 0x93 && bytes[1] == 'N' && bytes[2] == 'U' && bytes[3] == 'M' &&
         bytes[4] == 'P' && bytes[5] == 'Y';
}

// A tensor read from a file: its dtype, its shape (if the file says) and its bytes.
struct loaded_tensor {
  std::string path;
  npy_dtype dtype = npy_dtype::int8;
  std::optional<qkern::shape> file_shape;  // a .npy's own shape
  std::vector<unsigned char> bytes;
  std::size_t count() const { return bytes.size() / qkern::testing::npy_item_size(dtype); }
};

loaded_tensor load_tensor(const std::string& path, npy_dtype raw_dtype) {
  auto bytes = qkern::testing::read_file_bytes(path);
  if (!bytes) throw usage_error(bytes.error());
  loaded_tensor t;
  t.path = path;
  if (is_npy(*bytes)) {
    auto a = qkern::testing::parse_npy(bytes->data(), bytes->size());
    if (!a) throw usage_error(path + ": " + a.error());
    t.dtype = a->dtype;
    t.file_shape = a->tensor_shape;
    t.bytes = std::move(a->bytes);
  } else {
    t.dtype = raw_dtype;
    t.bytes = std::move(*bytes);
    const std::size_t item = qkern::testing::npy_item_size(raw_dtype);
    if (t.bytes.size() % item != 0) {
      throw usage_error(path + ": raw " + qkern::testing::npy_dtype_name(raw_dtype) + " file of " +
                        std::to_string(t.bytes.size()) + " bytes is not a whole number of elements");
    }
  }
  return t;
}

// The shape a tensor is compared in: --shape, else its .npy shape, else the op's output shape,
// else flat. Checks the element count.
qkern::shape shape_of(const loaded_tensor& t, const options& o, const std::optional<qkern::shape>& op_shape) {
  const std::size_t count = t.count();
  const auto check = [&](const qkern::shape& s, const char* source) {
    if (static_cast<std::size_t>(s.element_count()) != count) {
      throw usage_error(t.path + ": holds " + std::to_string(count) + " " +
                        qkern::testing::npy_dtype_name(t.dtype) + " values, the " + source + " " +
                        qkern::testing::shape_text(s) + " needs " + std::to_string(s.element_count()) +
                        " (shape mismatch)");
    }
    return s;
  };
  if (o.shape) return check(*o.shape, "shape given by --shape");
  if (t.file_shape) return *t.file_shape;
  if (op_shape) return check(*op_shape, "op's output shape");
  qkern::shape flat;
  flat.rank = 1;
  flat.dims[0] = static_cast<std::int32_t>(count);
  return flat;
}

// --- the op file ------------------------------------------------------------------------------

using json = nlohmann::json;

// Reads a JSON file's contents and where relative paths in it start.
struct op_file {
  json document;
  std::string folder;
};

std::string folder_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

void require_keys(const json& object, const std::string& where, std::initializer_list<const char*> allowed) {
  if (!object.is_object()) throw usage_error(where + " must be a JSON object");
  for (const auto& item : object.items()) {
    bool known = false;
    for (const char* k : allowed) known = known || item.key() == k;
    if (!known) {
      std::string list;
      for (const char* k : allowed) list += std::string(list.empty() ? "" : ", ") + k;
      throw usage_error(where + ": unknown key '" + item.key() + "' (known: " + list + ")");
    }
  }
}

template <class T>
T get_number(const json& object, const char* key, const std::string& where, std::optional<T> fallback = {}) {
  if (!object.contains(key)) {
    if (fallback) return *fallback;
    throw usage_error(where + ": '" + key + "' is missing");
  }
  const json& v = object.at(key);
  if constexpr (std::is_floating_point<T>::value) {
    if (!v.is_number()) throw usage_error(where + "." + key + " must be a number");
    return static_cast<T>(v.get<double>());
  } else {
    if (!v.is_number_integer()) throw usage_error(where + "." + key + " must be an integer");
    const auto i = v.get<std::int64_t>();
    if (i < std::numeric_limits<T>::min() || i > std::numeric_limits<T>::max()) {
      throw usage_error(where + "." + key + " is out of range (" + std::to_string(i) + ")");
    }
    return static_cast<T>(i);
  }
}

qkern::shape json_shape(const json& v, const std::string& where) {
  if (!v.is_array()) throw usage_error(where + " must be an array of extents");
  if (v.size() > static_cast<std::size_t>(qkern::max_rank)) throw usage_error(where + " has more than 6 dimensions");
  qkern::shape s;
  for (const json& e : v) {
    if (!e.is_number_integer() || e.get<std::int64_t>() < 0 || e.get<std::int64_t>() > INT32_MAX) {
      throw usage_error(where + " must hold non-negative integer extents");
    }
    s.dims[s.rank++] = static_cast<std::int32_t>(e.get<std::int64_t>());
  }
  if (!qkern::validate_shape(s).ok()) throw usage_error(where + " has more than 2^31 elements");
  return s;
}

// Integer values of type T from a "data" entry: an inline array, or a file (.npy of that dtype,
// or raw little-endian) relative to the op file's folder. `shape` is filled from a .npy when unset.
template <class T>
std::vector<T> json_data(const json& v, const std::string& where, const std::string& folder,
                         std::optional<qkern::shape>& shape) {
  if (v.is_array()) {
    std::vector<T> out;
    for (const json& e : v) {
      if (!e.is_number_integer() || e.get<std::int64_t>() < std::numeric_limits<T>::min() ||
          e.get<std::int64_t>() > std::numeric_limits<T>::max()) {
        throw usage_error(where + " must hold integers that fit " +
                          qkern::testing::npy_dtype_name(qkern::testing::npy_dtype_of<T>()));
      }
      out.push_back(static_cast<T>(e.get<std::int64_t>()));
    }
    return out;
  }
  if (!v.is_string()) throw usage_error(where + " must be a file name or an array of integers");
  const std::string name = v.get<std::string>();
  const std::string path = !name.empty() && name[0] == '/' ? name : folder + name;
  const loaded_tensor t = load_tensor(path, qkern::testing::npy_dtype_of<T>());
  if (t.dtype != qkern::testing::npy_dtype_of<T>()) {
    throw usage_error(path + ": holds " + qkern::testing::npy_dtype_name(t.dtype) + ", " + where + " needs " +
                      qkern::testing::npy_dtype_name(qkern::testing::npy_dtype_of<T>()));
  }
  if (!shape && t.file_shape) shape = t.file_shape;
  return qkern::testing::decode_little_endian<T>(t.bytes.data(), t.count());
}

// A tensor entry: {"scale", "zero_point", "shape", "data"}.
void json_tensor(const json& doc, const char* key, const std::string& folder, qkern::quantization_params& q,
                 qkern::shape& s, std::vector<std::int8_t>& data) {
  const std::string where = key;
  if (!doc.contains(key)) throw usage_error(std::string("'") + key + "' is missing");
  const json& t = doc.at(key);
  require_keys(t, where, {"scale", "zero_point", "shape", "data"});
  q.scale = get_number<float>(t, "scale", where);
  q.zero_point = get_number<std::int32_t>(t, "zero_point", where, 0);
  std::optional<qkern::shape> shape;
  if (t.contains("shape")) shape = json_shape(t.at("shape"), where + ".shape");
  if (!t.contains("data")) throw usage_error(where + ": 'data' is missing (a file name or an array)");
  data = json_data<std::int8_t>(t.at("data"), where + ".data", folder, shape);
  if (!shape) throw usage_error(where + ": 'shape' is missing (needed for raw files and inline data)");
  s = *shape;
}

std::pair<std::int32_t, std::int32_t> json_pair(const json& doc, const char* key) {
  if (!doc.contains(key)) return {1, 1};
  const json& v = doc.at(key);
  const auto small = [](const json& e) {
    return e.is_number_integer() && e.get<std::int64_t>() >= 0 && e.get<std::int64_t>() <= INT32_MAX;
  };
  if (small(v)) return {v.get<std::int32_t>(), v.get<std::int32_t>()};
  if (v.is_array() && v.size() == 2 && small(v[0]) && small(v[1])) return {v[0].get<std::int32_t>(), v[1].get<std::int32_t>()};
  throw usage_error(std::string("'") + key + "' must be a non-negative integer or [height, width]");
}

qkern::testing::op_case load_op(const std::string& path) {
  const auto bytes = qkern::testing::read_file_bytes(path);
  if (!bytes) throw usage_error(bytes.error());
  json doc;
  try {
    doc = json::parse(bytes->begin(), bytes->end(), nullptr, true, true);
  } catch (const json::exception& e) {
    throw usage_error(path + ": not valid JSON: " + e.what());
  }
  const std::string folder = folder_of(path);
  qkern::testing::op_case c;
  try {
    require_keys(doc, path, {"op", "input", "input2", "filter", "bias", "output", "activation", "padding", "stride",
                             "dilation", "depth_multiplier", "keep_num_dims", "comment"});
    if (!doc.contains("op") || !doc.at("op").is_string()) throw usage_error("'op' (a string) is missing");
    const std::string op = doc.at("op").get<std::string>();
    if (!qkern::testing::parse_op_kind(op, c.op)) {
      throw usage_error("unknown op '" + op +
                        "' (fully_connected, conv2d, depthwise_conv2d, add, mul, logistic, tanh)");
    }
    json_tensor(doc, "input", folder, c.input, c.input_shape, c.input_data);
    if (qkern::testing::is_binary_op(c.op)) json_tensor(doc, "input2", folder, c.input2, c.input2_shape, c.input2_data);
    if (!doc.contains("output")) throw usage_error("'output' is missing");
    require_keys(doc.at("output"), "output", {"scale", "zero_point"});
    c.output.scale = get_number<float>(doc.at("output"), "scale", "output");
    c.output.zero_point = get_number<std::int32_t>(doc.at("output"), "zero_point", "output", 0);

    if (c.op == qkern::testing::op_kind::fully_connected || c.op == qkern::testing::op_kind::conv2d ||
        c.op == qkern::testing::op_kind::depthwise_conv2d) {
      if (!doc.contains("filter")) throw usage_error("'filter' is missing");
      const json& f = doc.at("filter");
      require_keys(f, "filter", {"scale", "zero_point", "shape", "data"});
      if (!f.contains("scale")) throw usage_error("filter: 'scale' is missing");
      const json& scales = f.at("scale");
      if (scales.is_number()) {
        c.filter_scales = {static_cast<float>(scales.get<double>())};
      } else if (scales.is_array()) {
        for (const json& s : scales) {
          if (!s.is_number()) throw usage_error("filter.scale must hold numbers");
          c.filter_scales.push_back(static_cast<float>(s.get<double>()));
        }
      } else {
        throw usage_error("filter.scale must be a number or an array of per-channel scales");
      }
      c.filter_zero_point = get_number<std::int32_t>(f, "zero_point", "filter", 0);
      std::optional<qkern::shape> shape;
      if (f.contains("shape")) shape = json_shape(f.at("shape"), "filter.shape");
      if (!f.contains("data")) throw usage_error("filter: 'data' is missing");
      c.filter_data = json_data<std::int8_t>(f.at("data"), "filter.data", folder, shape);
      if (!shape) throw usage_error("filter: 'shape' is missing");
      c.filter_shape = *shape;
      if (doc.contains("bias")) {
        const json& b = doc.at("bias");
        std::optional<qkern::shape> ignored;
        if (b.is_object()) {
          require_keys(b, "bias", {"data", "shape"});
          if (!b.contains("data")) throw usage_error("bias: 'data' is missing");
          c.bias = json_data<std::int32_t>(b.at("data"), "bias.data", folder, ignored);
        } else {
          c.bias = json_data<std::int32_t>(b, "bias", folder, ignored);
        }
      }
    }
    if (doc.contains("activation")) {
      const std::string a = doc.at("activation").get<std::string>();
      if (a == "none") {
        c.activation = qkern::fused_activation::none;
      } else if (a == "relu") {
        c.activation = qkern::fused_activation::relu;
      } else if (a == "relu6") {
        c.activation = qkern::fused_activation::relu6;
      } else if (a == "relu_n1_to_1") {
        c.activation = qkern::fused_activation::relu_n1_to_1;
      } else {
        throw usage_error("activation is none, relu, relu6 or relu_n1_to_1, got '" + a + "'");
      }
    }
    if (doc.contains("padding")) {
      const std::string p = doc.at("padding").get<std::string>();
      if (p != "same" && p != "valid") throw usage_error("padding is same or valid, got '" + p + "'");
      c.padding = p == "same" ? qkern::padding_kind::same : qkern::padding_kind::valid;
    }
    std::tie(c.stride_height, c.stride_width) = json_pair(doc, "stride");
    std::tie(c.dilation_height, c.dilation_width) = json_pair(doc, "dilation");
    c.depth_multiplier = get_number<std::int32_t>(doc, "depth_multiplier", path, 1);
    if (doc.contains("keep_num_dims")) c.keep_num_dims = doc.at("keep_num_dims").get<bool>();
  } catch (const json::exception& e) {
    throw usage_error(path + ": " + e.what());
  } catch (const usage_error& e) {
    const std::string what = e.what();
    throw usage_error(what.rfind(path, 0) == 0 ? what : path + ": " + what);
  }
  const qkern::status s = qkern::testing::validate_case(c);
  if (!s.ok()) {
    char buffer[256];
    s.format(buffer, sizeof buffer);
    throw usage_error(path + ": " + buffer);
  }
  return c;
}

// --- the report -------------------------------------------------------------------------------

std::string describe(const loaded_tensor& t, const qkern::shape& s) {
  return t.path + " (" + qkern::testing::npy_dtype_name(t.dtype) + " " + qkern::testing::shape_text(s) +
         (t.file_shape ? ", .npy" : ", raw") + ")";
}

template <class T>
bool print_comparison(const std::vector<unsigned char>& observed_bytes, const std::vector<unsigned char>& expected_bytes,
                      const qkern::shape& s, const options& o) {
  const std::size_t count = static_cast<std::size_t>(s.element_count());
  const auto observed = qkern::testing::decode_little_endian<T>(observed_bytes.data(), count);
  const auto expected = qkern::testing::decode_little_endian<T>(expected_bytes.data(), count);
  qkern::testing::compare_options co;
  co.max_mismatches = o.first;
  const auto c = qkern::testing::compare(observed.data(), expected.data(), s, co);
  if (!c) throw usage_error("cannot compare: invalid shape");
  qkern::testing::format_options fo;
  fo.max_channel_lines = o.channels;
  std::fputs(qkern::testing::format(*c, fo).c_str(), stdout);
  return c->identical();
}

int run(const options& o) {
  std::optional<qkern::testing::op_case> op;
  if (!o.op_path.empty()) op = load_op(o.op_path);

  const loaded_tensor observed = load_tensor(o.files[0], o.raw_dtype);
  std::optional<loaded_tensor> expected;
  if (o.files.size() == 2) expected = load_tensor(o.files[1], o.raw_dtype);

  // The op's own output, for its shape and (without EXPECTED) as the reference.
  std::optional<qkern::testing::int8_tensor> reference;
  std::string reference_error;
  if (op) {
    const auto r = qkern::testing::recompute(*op, qkern::testing::reference_dialect(op->op));
    if (r.ok()) {
      reference = *r;
    } else {
      char buffer[256];
      r.error().format(buffer, sizeof buffer);
      reference_error = buffer;
    }
  }
  if (observed.dtype == npy_dtype::int32) throw usage_error(observed.path + ": int32 tensors are not compared");
  const std::optional<qkern::shape> op_shape =
      reference ? std::optional<qkern::shape>(reference->tensor_shape) : std::nullopt;

  const qkern::shape observed_shape = shape_of(observed, o, op_shape);
  qkern::shape expected_shape = observed_shape;
  std::vector<unsigned char> expected_bytes;
  std::string expected_name;
  if (expected) {
    if (expected->dtype != observed.dtype) {
      throw usage_error("observed is " + std::string(qkern::testing::npy_dtype_name(observed.dtype)) +
                        ", expected is " + qkern::testing::npy_dtype_name(expected->dtype) + ": compare like with like");
    }
    expected_shape = shape_of(*expected, o, op_shape);
    if (expected->count() != observed.count()) {
      throw usage_error("observed has " + std::to_string(observed.count()) + " elements, expected " +
                        std::to_string(expected->count()) + " (shape mismatch)");
    }
    expected_bytes = expected->bytes;
    expected_name = describe(*expected, expected_shape);
  } else {
    if (!reference) {
      throw usage_error("qkern cannot recompute the op (" + reference_error +
                        "), so it cannot stand in for EXPECTED: fix the op file or give EXPECTED");
    }
    expected_bytes.assign(reference->data.begin(), reference->data.end());
    expected_name = std::string("qkern's recomputation (") +
                    qkern::testing::dialect_name(qkern::testing::reference_dialect(op->op)) + ")";
  }
  std::printf("observed: %s\nexpected: %s\n", describe(observed, observed_shape).c_str(), expected_name.c_str());
  if (expected && expected_shape != observed_shape) {
    std::printf("note: the shapes differ (%s vs %s) with the same element count: compared in memory order, "
                "coordinates from the expected shape. A layout swap?\n",
                qkern::testing::shape_text(observed_shape).c_str(), qkern::testing::shape_text(expected_shape).c_str());
  }
  std::printf("\n== statistics (observed - expected) ==\n");
  bool identical = false;
  switch (observed.dtype) {
    case npy_dtype::int8: identical = print_comparison<std::int8_t>(observed.bytes, expected_bytes, expected_shape, o); break;
    case npy_dtype::uint8: identical = print_comparison<std::uint8_t>(observed.bytes, expected_bytes, expected_shape, o); break;
    case npy_dtype::int16: identical = print_comparison<std::int16_t>(observed.bytes, expected_bytes, expected_shape, o); break;
    case npy_dtype::int32: break;
  }

  if (op) {
    std::printf("\n== diagnosis (%s) ==\n", qkern::testing::op_kind_name(op->op));
    if (observed.dtype != npy_dtype::int8) {
      throw usage_error("the diagnosis covers int8 tensors; these are " +
                        std::string(qkern::testing::npy_dtype_name(observed.dtype)));
    }
    const auto as_int8 = [](const std::vector<unsigned char>& b) {
      return qkern::testing::decode_little_endian<std::int8_t>(b.data(), b.size());
    };
    const std::vector<std::int8_t> observed_values = as_int8(observed.bytes);
    const std::vector<std::int8_t> expected_values = as_int8(expected_bytes);
    const auto d = qkern::testing::diagnose(*op, observed_values.data(), static_cast<std::int64_t>(observed_values.size()),
                                            expected ? expected_values.data() : nullptr);
    if (!d) {
      char buffer[256];
      d.error().format(buffer, sizeof buffer);
      throw usage_error(std::string("cannot diagnose: ") + buffer);
    }
    std::fputs(qkern::testing::format(*d).c_str(), stdout);
  }
  return identical ? exit_identical : exit_differ;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_arguments(argc, argv));
  } catch (const usage_error& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "qkern_diff: error: %s\n", e.what());
    return exit_error;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "qkern_diff: error: %s\n", e.what());
    return exit_error;
  }
}
