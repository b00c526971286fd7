// qkern_run: runs a .tflite model through qkern's kernels, layer by layer, and compares every
// layer with TFLite Micro's output (a golden folder in the shared/models layout).
//
//   qkern_run MODEL.tflite [--input FILE]... [--golden DIR] [options]
//   qkern_run --inspect MODEL.tflite
//
// Exit status: 0 success (and, with --golden, every layer bit-exact); 1 an error (unreadable or
// corrupt model, unsupported operator, bad input); 2 a layer differs from the golden folder
// (run) or the audit flagged something (--inspect).
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inspect.hpp"
#include "network.hpp"
#include "tflite_reader.hpp"
#if QKERN_SIMD
#include "qkern/simd/arch.hpp"
#endif

namespace {

// What "dispatching kernels" compile to in this build: xsimd's arch name (set by -march).
std::string kernels_name(bool scalar) {
  if (scalar) return "scalar kernels";
#if QKERN_SIMD
  return std::string("dispatching kernels (") + qkern::simd::arch_name() + ")";
#else
  return "dispatching kernels (QKERN_SIMD=0: scalar)";
#endif
}

using qkern_run::network;
namespace tfl = qkern_run::tfl;

constexpr const char* usage_text =
    "usage: qkern_run MODEL.tflite [--input FILE]... [--golden DIR] [options]\n"
    "       qkern_run --inspect MODEL.tflite\n"
    "\n"
    "Runs every operator of the model's first subgraph through qkern (prepare once, then eval on one\n"
    "arena) and prints a per-layer table, then the model's outputs.\n"
    "\n"
    "  --input FILE     bytes of the next graph input: raw little-endian values of the input's dtype,\n"
    "                   or an 8-bit grayscale .bmp whose pixels are reinterpreted as the input's bytes\n"
    "                   (as TFLite Micro's person_detect test feeds them). Repeat for several inputs.\n"
    "                   Without --input: the golden folder's input, else the input's zero point.\n"
    "  --golden DIR     a folder with run.json and per-layer .bin tensors from TFLite Micro: compare\n"
    "                   every layer's output bit for bit (exit status 2 when any differs)\n"
    "  --inspect        audit the model without running it (dtypes, quantization, float/hybrid layers,\n"
    "                   operators qkern cannot run); exit status 2 when something is flagged\n"
    "  --labels A,B,..  names of the output classes, for the scores\n"
    "  --isolate        with --golden: after each layer, continue from the golden output instead of\n"
    "                   qkern's, so a layer's mismatches are its own and not inherited from earlier ones\n"
    "  --rounding R     double (TFLite's default, the golden dialect) or single (TFLITE_SINGLE_ROUNDING)\n"
    "  --scalar         run qkern's scalar reference kernels instead of the dispatching (SIMD) ones\n"
    "  --repeat N       run the model N times; times are the fastest run of each layer\n"
    "  --dump DIR       write every layer's output as DIR/tNNN_opMM.bin (the golden layout)\n"
    "  --no-reuse       give every tensor its own arena bytes (no lifetime-based sharing)\n"
    "  --quiet          print only the summary and the scores\n";

struct options {
  std::string model;
  std::vector<std::string> inputs;
  std::string golden;
  std::string dump;
  std::vector<std::string> labels;
  bool inspect = false;
  bool quiet = false;
  bool isolate = false;
  int repeat = 1;
  qkern_run::build_options build;
};

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "qkern_run: error: %s\n", message.c_str());
  std::exit(1);
}

bool read_file(const std::string& path, std::vector<std::uint8_t>& out, std::string& error,
               std::uint64_t limit = std::uint64_t{1} << 32) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) {
    error = "cannot open " + path;
    return false;
  }
  const std::streamoff size = f.tellg();
  if (size < 0) {
    error = "cannot read " + path;
    return false;
  }
  if (static_cast<std::uint64_t>(size) > limit) {
    error = path + " is too large (" + std::to_string(size) + " bytes)";
    return false;
  }
  out.resize(static_cast<std::size_t>(size));
  f.seekg(0);
  if (size > 0 && !f.read(reinterpret_cast<char*>(out.data()), size)) {
    error = "cannot read " + path;
    return false;
  }
  return true;
}

bool ends_with(const std::string& s, const char* suffix) {
  const std::size_t n = std::strlen(suffix);
  if (s.size() < n) return false;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::tolower(static_cast<unsigned char>(s[s.size() - n + i])) != suffix[i]) return false;
  }
  return true;
}

// An uncompressed 8-bit BMP with a gray palette, as top-down rows of gray values.
bool decode_gray_bmp(const std::vector<std::uint8_t>& b, std::vector<std::uint8_t>& out, std::string& error) {
  const auto u16 = [&](std::size_t at) { return static_cast<std::uint32_t>(b[at] | (b[at + 1] << 8)); };
  const auto u32 = [&](std::size_t at) { return u16(at) | (u16(at + 2) << 16); };
  if (b.size() < 54 || b[0] != 'B' || b[1] != 'M') return (error = "not a BMP file"), false;
  const std::uint32_t data_offset = u32(10);
  const std::uint32_t header = u32(14);
  const auto width = static_cast<std::int32_t>(u32(18));
  const auto height = static_cast<std::int32_t>(u32(22));
  const std::uint32_t bits = u16(28);
  const std::uint32_t compression = u32(30);
  std::uint32_t colors = u32(46);
  if (bits != 8 || compression != 0) {
    return (error = "only uncompressed 8-bit (paletted grayscale) BMPs are supported, this one has " +
                    std::to_string(bits) + " bits per pixel"), false;
  }
  if (colors == 0) colors = 256;
  if (width <= 0 || height == 0 || width > 65536 || height > 65536 || height < -65536 || colors > 256) {
    return (error = "BMP header is invalid"), false;
  }
  const std::size_t palette = 14 + static_cast<std::size_t>(header);
  if (palette + 4 * static_cast<std::size_t>(colors) > b.size()) return (error = "BMP palette is truncated"), false;
  const std::size_t rows = static_cast<std::size_t>(height < 0 ? -height : height);
  const std::size_t stride = (static_cast<std::size_t>(width) + 3) / 4 * 4;
  if (static_cast<std::size_t>(data_offset) + stride * rows > b.size()) return (error = "BMP pixel data is truncated"), false;
  out.resize(static_cast<std::size_t>(width) * rows);
  for (std::size_t r = 0; r < rows; ++r) {
    const std::size_t source = height > 0 ? rows - 1 - r : r;  // positive height: stored bottom-up
    for (std::size_t x = 0; x < static_cast<std::size_t>(width); ++x) {
      const std::uint8_t index = b[data_offset + source * stride + x];
      if (index >= colors) return (error = "BMP pixel refers past the palette"), false;
      const std::uint8_t* entry = &b[palette + 4 * static_cast<std::size_t>(index)];  // B, G, R, 0
      if (entry[0] != entry[1] || entry[1] != entry[2]) {
        return (error = "BMP palette is not grayscale (color images are not supported)"), false;
      }
      out[r * static_cast<std::size_t>(width) + x] = entry[0];
    }
  }
  return true;
}

// --- the golden folder ---------------------------------------------------------------------------

struct golden_tensor {
  std::int32_t tensor = -1;
  std::string file;
  std::vector<std::uint8_t> bytes;
};

struct golden_run {
  std::string dir;
  std::map<std::int32_t, golden_tensor> inputs;  // by tensor index
  std::map<std::size_t, golden_tensor> outputs;  // by operator index
  std::map<std::int32_t, std::vector<std::int64_t>> final_values;
};

std::string join_path(const std::string& dir, const std::string& file) {
  if (dir.empty() || dir.back() == '/') return dir + file;
  return dir + "/" + file;
}

golden_run load_golden(const std::string& dir, const tfl::model& m, const network& net) {
  golden_run g;
  g.dir = dir;
  std::vector<std::uint8_t> text;
  std::string error;
  const std::string manifest = join_path(dir, "run.json");
  if (!read_file(manifest, text, error, 1u << 28)) die("golden folder: " + error);
  const tfl::subgraph& sub = m.subgraphs[0];
  try {
    const nlohmann::json j = nlohmann::json::parse(text.begin(), text.end());
    if (j.contains("operators")) {
      const auto& ops = j.at("operators");
      if (ops.size() != sub.operators.size()) {
        die(manifest + " lists " + std::to_string(ops.size()) + " operators, the model has " +
            std::to_string(sub.operators.size()) + ": is this the golden folder of another model?");
      }
      for (std::size_t i = 0; i < ops.size(); ++i) {
        const std::string name = ops[i].at("op").get<std::string>();
        if (name != net.layers()[i].name) {
          die(manifest + ": operator " + std::to_string(i) + " is " + name + " there but " + net.layers()[i].name +
              " in the model: is this the golden folder of another model?");
        }
      }
    }
    const auto load_tensor = [&](const nlohmann::json& e, golden_tensor& t) {
      t.tensor = e.at("tensor").get<std::int32_t>();
      t.file = e.at("file").get<std::string>();
      if (t.file.find('/') != std::string::npos) die(manifest + ": file name " + t.file + " contains a '/'");
      if (t.tensor < 0 || static_cast<std::size_t>(t.tensor) >= sub.tensors.size()) {
        die(manifest + ": tensor " + std::to_string(t.tensor) + " does not exist in the model");
      }
      if (!read_file(join_path(dir, t.file), t.bytes, error, 1u << 30)) die("golden folder: " + error);
      const std::size_t expected = net.tensor(static_cast<std::size_t>(t.tensor)).bytes;
      if (t.bytes.size() != expected) {
        die("golden tensor " + join_path(dir, t.file) + " has " + std::to_string(t.bytes.size()) + " bytes, tensor " +
            std::to_string(t.tensor) + " " + qkern_run::shape_string(net.tensor(static_cast<std::size_t>(t.tensor)).shape) +
            " needs " + std::to_string(expected) + " (shape mismatch)");
      }
    };
    for (const auto& e : j.at("inputs")) {
      golden_tensor t;
      load_tensor(e, t);
      g.inputs[t.tensor] = std::move(t);
    }
    for (const auto& e : j.at("op_outputs")) {
      golden_tensor t;
      const auto op = e.at("op").get<std::int64_t>();
      if (op < 0 || static_cast<std::size_t>(op) >= sub.operators.size()) {
        die(manifest + ": op_outputs names operator " + std::to_string(op) + ", the model has " +
            std::to_string(sub.operators.size()));
      }
      load_tensor(e, t);
      const auto& outs = sub.operators[static_cast<std::size_t>(op)].outputs;
      if (outs.empty() || outs[0] != t.tensor) {
        die(manifest + ": op_outputs gives tensor " + std::to_string(t.tensor) + " for operator " + std::to_string(op) +
            ", whose output in the model is another tensor");
      }
      g.outputs[static_cast<std::size_t>(op)] = std::move(t);
    }
    if (j.contains("outputs")) {
      for (const auto& e : j.at("outputs")) {
        g.final_values[e.at("tensor").get<std::int32_t>()] = e.at("values").get<std::vector<std::int64_t>>();
      }
    }
  } catch (const nlohmann::json::exception& e) {
    die(manifest + ": " + e.what());
  }
  return g;
}

// --- per-layer statistics ------------------------------------------------------------------------

struct layer_stats {
  bool integer = false;
  std::size_t count = 0;
  std::size_t at_min = 0;  // values equal to the type's minimum
  std::size_t at_max = 0;  // ... and maximum
  std::int64_t lo = 0, hi = 0;
  double range = 0;  // the type's value count
};

template <class T>
layer_stats integer_stats(const std::byte* data, std::size_t count) {
  layer_stats s;
  s.integer = true;
  s.count = count;
  s.range = static_cast<double>(std::numeric_limits<T>::max()) - std::numeric_limits<T>::min() + 1;
  s.lo = std::numeric_limits<std::int64_t>::max();
  s.hi = std::numeric_limits<std::int64_t>::min();
  for (std::size_t i = 0; i < count; ++i) {
    T v;
    std::memcpy(&v, data + i * sizeof(T), sizeof(T));
    if (v == std::numeric_limits<T>::min()) ++s.at_min;
    if (v == std::numeric_limits<T>::max()) ++s.at_max;
    s.lo = std::min<std::int64_t>(s.lo, v);
    s.hi = std::max<std::int64_t>(s.hi, v);
  }
  return s;
}

layer_stats stats_of(const qkern_run::tensor_info& t, const std::byte* data) {
  const std::size_t n = t.element_size ? t.bytes / t.element_size : 0;
  switch (t.type()) {
    case tfl::tensor_type::int8: return integer_stats<std::int8_t>(data, n);
    case tfl::tensor_type::uint8: return integer_stats<std::uint8_t>(data, n);
    case tfl::tensor_type::int16: return integer_stats<std::int16_t>(data, n);
    default: return {};
  }
}

// Element-wise comparison of two buffers of t's type: mismatching elements and max |diff|.
struct comparison {
  std::size_t mismatches = 0;
  double max_diff = 0;
  std::size_t first = 0;
  double first_ours = 0, first_golden = 0;  // the values at `first`
};

template <class T>
comparison compare_as(const std::byte* a, const std::uint8_t* b, std::size_t count) {
  comparison c;
  for (std::size_t i = 0; i < count; ++i) {
    T x, y;
    std::memcpy(&x, a + i * sizeof(T), sizeof(T));
    std::memcpy(&y, b + i * sizeof(T), sizeof(T));
    if (std::memcmp(&x, &y, sizeof(T)) != 0) {
      if (c.mismatches++ == 0) {
        c.first = i;
        c.first_ours = static_cast<double>(x);
        c.first_golden = static_cast<double>(y);
      }
      const double d = std::fabs(static_cast<double>(x) - static_cast<double>(y));
      if (d > c.max_diff || d != d) c.max_diff = d;
    }
  }
  return c;
}

comparison compare(const qkern_run::tensor_info& t, const std::byte* ours, const std::vector<std::uint8_t>& golden) {
  const std::size_t n = t.element_size ? t.bytes / t.element_size : 0;
  switch (t.type()) {
    case tfl::tensor_type::int8: return compare_as<std::int8_t>(ours, golden.data(), n);
    case tfl::tensor_type::uint8: return compare_as<std::uint8_t>(ours, golden.data(), n);
    case tfl::tensor_type::int16: return compare_as<std::int16_t>(ours, golden.data(), n);
    case tfl::tensor_type::int32: return compare_as<std::int32_t>(ours, golden.data(), n);
    case tfl::tensor_type::int64: return compare_as<std::int64_t>(ours, golden.data(), n);
    case tfl::tensor_type::float32: return compare_as<float>(ours, golden.data(), n);
    default: return compare_as<std::uint8_t>(ours, golden.data(), t.bytes);
  }
}

std::string coordinates(const qkern::shape& s, std::size_t flat) {
  std::vector<std::size_t> idx(static_cast<std::size_t>(s.rank));
  for (int d = s.rank - 1; d >= 0; --d) {
    const auto extent = static_cast<std::size_t>(s.dims[d]);
    idx[static_cast<std::size_t>(d)] = extent ? flat % extent : 0;
    flat = extent ? flat / extent : 0;
  }
  std::string out = "[";
  for (std::size_t i = 0; i < idx.size(); ++i) out += (i ? "," : "") + std::to_string(idx[i]);
  return out + "]";
}

double element_value(const qkern_run::tensor_info& t, const std::byte* data, std::size_t i) {
  switch (t.type()) {
    case tfl::tensor_type::int8: { std::int8_t v; std::memcpy(&v, data + i, 1); return v; }
    case tfl::tensor_type::uint8: { std::uint8_t v; std::memcpy(&v, data + i, 1); return v; }
    case tfl::tensor_type::int16: { std::int16_t v; std::memcpy(&v, data + 2 * i, 2); return v; }
    case tfl::tensor_type::int32: { std::int32_t v; std::memcpy(&v, data + 4 * i, 4); return v; }
    case tfl::tensor_type::int64: { std::int64_t v; std::memcpy(&v, data + 8 * i, 8); return static_cast<double>(v); }
    case tfl::tensor_type::float32: { float v; std::memcpy(&v, data + 4 * i, 4); return v; }
    default: return 0;
  }
}

std::string format_value(const qkern_run::tensor_info& t, double v) {
  char buf[32];
  if (t.type() == tfl::tensor_type::float32) std::snprintf(buf, sizeof buf, "%.6g", v);
  else std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

std::vector<std::string> split_labels(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ',') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

options parse_args(int argc, char** argv) {
  options o;
  const auto value = [&](int& i, const char* flag) -> std::string {
    if (i + 1 >= argc) die(std::string(flag) + " needs a value\n\n" + usage_text);
    return argv[++i];
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(usage_text, stdout);
      std::exit(0);
    } else if (a == "--inspect") {
      o.inspect = true;
    } else if (a == "--input") {
      o.inputs.push_back(value(i, "--input"));
    } else if (a == "--golden") {
      o.golden = value(i, "--golden");
    } else if (a == "--dump") {
      o.dump = value(i, "--dump");
    } else if (a == "--labels") {
      o.labels = split_labels(value(i, "--labels"));
    } else if (a == "--rounding") {
      const std::string r = value(i, "--rounding");
      if (r == "double") o.build.rounding = qkern_run::rounding_mode::double_rounding;
      else if (r == "single") o.build.rounding = qkern_run::rounding_mode::single_rounding;
      else die("--rounding takes double or single, not " + r);
    } else if (a == "--isolate") {
      o.isolate = true;
    } else if (a == "--scalar") {
      o.build.scalar = true;
    } else if (a == "--no-reuse") {
      o.build.reuse_memory = false;
    } else if (a == "--quiet") {
      o.quiet = true;
    } else if (a == "--repeat") {
      const std::string r = value(i, "--repeat");
      char* end = nullptr;
      const long n = std::strtol(r.c_str(), &end, 10);
      if (end == r.c_str() || *end != '\0' || n < 1 || n > 100000) die("--repeat takes a count from 1 to 100000");
      o.repeat = static_cast<int>(n);
    } else if (!a.empty() && a[0] == '-') {
      die("unknown option " + a + "\n\n" + usage_text);
    } else if (o.model.empty()) {
      o.model = a;
    } else {
      die("more than one model given (" + o.model + ", " + a + ")\n\n" + usage_text);
    }
  }
  if (o.model.empty()) die(std::string("no model given\n\n") + usage_text);
  if (o.isolate && o.golden.empty()) die("--isolate needs --golden");
  return o;
}

std::string base_name(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

int run(const options& opt, const tfl::model& m) {
  network net;
  const bool built = net.build(m, opt.build);
  if (!built) {
    std::fprintf(stderr, "qkern_run: error: %s: %s\n", opt.model.c_str(), net.error().c_str());
    for (const qkern_run::layer& l : net.layers()) {
      if (!l.error.empty()) std::fprintf(stderr, "  op %zu %s: %s\n", l.index, l.name.c_str(), l.error.c_str());
    }
    return 1;
  }
  const tfl::subgraph& g = m.subgraphs[0];
  golden_run golden;
  const bool has_golden = !opt.golden.empty();
  if (has_golden) golden = load_golden(opt.golden, m, net);

  net.allocate();

  // Inputs: --input files in order, else the golden folder's, else the zero point.
  if (opt.inputs.size() > g.inputs.size()) {
    die(std::to_string(opt.inputs.size()) + " --input files for a model with " + std::to_string(g.inputs.size()) + " inputs");
  }
  std::vector<std::string> input_sources;
  for (std::size_t k = 0; k < g.inputs.size(); ++k) {
    const auto index = static_cast<std::size_t>(g.inputs[k]);
    const qkern_run::tensor_info& t = net.tensor(index);
    std::byte* dst = net.tensor_data(index);
    if (dst == nullptr) die("input tensor " + std::to_string(index) + " has no storage (a constant?)");
    std::vector<std::uint8_t> bytes;
    std::string source;
    if (k < opt.inputs.size()) {
      std::string error;
      if (!read_file(opt.inputs[k], bytes, error, 1u << 31)) die(error);
      source = opt.inputs[k];
      if (ends_with(opt.inputs[k], ".bmp")) {
        std::vector<std::uint8_t> pixels;
        if (!decode_gray_bmp(bytes, pixels, error)) die(opt.inputs[k] + ": " + error);
        if (t.element_size != 1) die(opt.inputs[k] + ": a BMP can feed only an 8-bit input");
        bytes.swap(pixels);
        source += " (gray pixels, top-down, as raw bytes)";
      }
    } else if (golden.inputs.count(g.inputs[k]) != 0) {
      bytes = golden.inputs[g.inputs[k]].bytes;
      source = join_path(golden.dir, golden.inputs[g.inputs[k]].file);
    } else {
      bytes.assign(t.bytes, 0);
      if (t.t->q.is_affine() && !t.t->q.zero_point.empty() && t.element_size == 1) {
        std::fill(bytes.begin(), bytes.end(), static_cast<std::uint8_t>(t.t->q.zero_point[0]));
      }
      source = "zero point (no --input given)";
    }
    if (bytes.size() != t.bytes) {
      die("input " + std::to_string(k) + " (tensor " + std::to_string(index) + ", " + tfl::tensor_type_name(t.type()) +
          qkern_run::shape_string(t.shape) + ") needs " + std::to_string(t.bytes) + " bytes, " + source + " has " +
          std::to_string(bytes.size()) + " (shape mismatch)");
    }
    if (has_golden && k < opt.inputs.size() && golden.inputs.count(g.inputs[k]) != 0 &&
        golden.inputs[g.inputs[k]].bytes != bytes) {
      source += " -- WARNING: differs from the golden input " + golden.inputs[g.inputs[k]].file;
    } else if (has_golden && k < opt.inputs.size() && golden.inputs.count(g.inputs[k]) != 0) {
      source += " (identical to the golden input)";
    }
    std::memcpy(dst, bytes.data(), bytes.size());
    input_sources.push_back(source);
  }
  // Keep the inputs: a repeated run must start from them again (the arena may reuse their bytes).
  std::vector<std::vector<std::byte>> input_copies;
  for (std::int32_t index : g.inputs) {
    const std::byte* p = net.tensor_data(static_cast<std::size_t>(index));
    input_copies.emplace_back(p, p + net.tensor(static_cast<std::size_t>(index)).bytes);
  }

  const std::size_t n = net.layers().size();
  std::vector<double> micros(n, std::numeric_limits<double>::infinity());
  std::vector<comparison> cmp(n);
  std::vector<bool> compared(n, false);
  std::vector<layer_stats> stats(n);
  for (int rep = 0; rep < opt.repeat; ++rep) {
    for (std::size_t k = 0; k < g.inputs.size(); ++k) {
      std::memcpy(net.tensor_data(static_cast<std::size_t>(g.inputs[k])), input_copies[k].data(), input_copies[k].size());
    }
    for (std::size_t i = 0; i < n; ++i) {
      const auto start = std::chrono::steady_clock::now();
      net.run_layer(i);
      const auto stop = std::chrono::steady_clock::now();
      micros[i] = std::min(micros[i], std::chrono::duration<double, std::micro>(stop - start).count());
      const auto out_index = static_cast<std::size_t>(g.operators[i].outputs[0]);
      const qkern_run::tensor_info& out = net.tensor(out_index);
      std::byte* data = net.tensor_data(out_index);
      // The next layers read TFLite Micro's tensor: each layer is then judged on its own.
      const bool substitute = opt.isolate && golden.outputs.count(i) != 0 && out.last_reader > static_cast<int>(i);
      if (rep > 0) {
        if (substitute) std::memcpy(data, golden.outputs[i].bytes.data(), out.bytes);
        continue;
      }
      stats[i] = stats_of(out, data);
      if (has_golden && golden.outputs.count(i) != 0) {
        cmp[i] = compare(out, data, golden.outputs[i].bytes);
        compared[i] = true;
      }
      if (!opt.dump.empty()) {
        char name[64];
        std::snprintf(name, sizeof name, "t%03zu_op%02zu.bin", out_index, i);
        std::ofstream f(join_path(opt.dump, name), std::ios::binary);
        if (!f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(out.bytes))) {
          die("cannot write " + join_path(opt.dump, name));
        }
      }
      if (substitute) std::memcpy(data, golden.outputs[i].bytes.data(), out.bytes);
    }
  }

  std::printf("qkern_run %s: %zu operators, arena %zu bytes (%zu without sharing), rounding %s, %s\n",
              base_name(opt.model).c_str(), n, net.arena_bytes(), net.unshared_bytes(),
              opt.build.rounding == qkern_run::rounding_mode::single_rounding ? "single" : "double",
              kernels_name(opt.build.scalar).c_str());
  for (std::size_t k = 0; k < input_sources.size(); ++k) {
    std::printf("input %zu (tensor %d): %s\n", k, g.inputs[k], input_sources[k].c_str());
  }
  if (has_golden) {
    std::printf("golden: %s%s\n", golden.dir.c_str(),
                opt.isolate ? " (isolated: every layer reads TFLite Micro's inputs)" : "");
  }
  for (const std::string& note : net.notes()) std::printf("note: %s\n", note.c_str());

  std::size_t differing = 0, checked = 0;
  double total_us = 0;
  for (std::size_t i = 0; i < n; ++i) total_us += micros[i];
  if (!opt.quiet) {
    std::printf("\n%3s  %-18s %-18s %13s %9s %10s %7s %7s %7s\n", "#", "op", "output shape", "mismatches", "max|diff|",
                "time(us)", "at min", "at max", "range");
  }
  for (std::size_t i = 0; i < n; ++i) {
    const qkern_run::layer& l = net.layers()[i];
    const auto out_index = static_cast<std::size_t>(g.operators[i].outputs[0]);
    const qkern_run::tensor_info& out = net.tensor(out_index);
    std::string mism = "-", maxd = "-", low = "-", high = "-", range = "-";
    if (compared[i]) {
      ++checked;
      if (cmp[i].mismatches > 0) ++differing;
      mism = std::to_string(cmp[i].mismatches) + "/" + std::to_string(out.bytes / out.element_size);
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", cmp[i].max_diff);
      maxd = buf;
    }
    if (stats[i].integer && stats[i].count > 0) {
      char buf[32];
      const auto count = static_cast<double>(stats[i].count);
      std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * static_cast<double>(stats[i].at_min) / count);
      low = buf;
      std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * static_cast<double>(stats[i].at_max) / count);
      high = buf;
      std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * static_cast<double>(stats[i].hi - stats[i].lo + 1) / stats[i].range);
      range = buf;
    }
    if (!opt.quiet) {
      std::printf("%3zu  %-18s %-18s %13s %9s %10.1f %7s %7s %7s\n", i, l.name.c_str(),
                  qkern_run::shape_string(out.shape).c_str(), mism.c_str(), maxd.c_str(), micros[i], low.c_str(),
                  high.c_str(), range.c_str());
      if (compared[i] && cmp[i].mismatches > 0) {
        const std::size_t f = cmp[i].first;
        std::printf("       first mismatch at %s: qkern %s, golden %s  (%s)\n", coordinates(out.shape, f).c_str(),
                    format_value(out, cmp[i].first_ours).c_str(), format_value(out, cmp[i].first_golden).c_str(),
                    l.kernel.c_str());
      }
    }
  }
  if (!opt.quiet) {
    std::printf("%3s  %-18s %-18s %13s %9s %10.1f\n", "", "total", "", "", "", total_us);
    std::printf("at min / at max: outputs at the type's limits (saturated; with a ReLU whose zero point is the type's\n"
                "minimum, 'at min' counts the zeros); range: the share of the type's values the outputs span\n");
  }

  // The model's outputs and their scores.
  std::printf("\n");
  bool finals_match = true;
  for (std::int32_t index : g.outputs) {
    const qkern_run::tensor_info& t = net.tensor(static_cast<std::size_t>(index));
    const std::byte* data = net.tensor_data(static_cast<std::size_t>(index));
    if (data == nullptr) {
      std::printf("output tensor %d: no data (not written by any operator)\n", index);
      continue;
    }
    const std::size_t count = t.element_size ? t.bytes / t.element_size : 0;
    const bool quantized = t.t->q.is_affine() && t.t->q.scale.size() == 1 && t.type() != tfl::tensor_type::float32;
    const double scale = quantized ? t.t->q.scale[0] : 1.0;
    const double zp = quantized && !t.t->q.zero_point.empty() ? static_cast<double>(t.t->q.zero_point[0]) : 0.0;
    std::printf("output tensor %d %s%s", index, tfl::tensor_type_name(t.type()), qkern_run::shape_string(t.shape).c_str());
    if (quantized) std::printf(" (scale %.9g, zero point %.0f)", scale, zp);
    std::printf(":\n");
    std::vector<std::size_t> order(count);
    for (std::size_t i = 0; i < count; ++i) order[i] = i;
    const std::size_t shown = count <= 16 ? count : 5;
    if (count > 16) {
      std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(shown), order.end(),
                        [&](std::size_t a, std::size_t b) { return element_value(t, data, a) > element_value(t, data, b); });
      std::printf("  top %zu of %zu:\n", shown, count);
    }
    for (std::size_t r = 0; r < shown; ++r) {
      const std::size_t i = order[r];
      const double q = element_value(t, data, i);
      std::string label = i < opt.labels.size() ? opt.labels[i] : "";
      std::printf("  [%zu]%s%-12s %6s  -> %.4f\n", i, label.empty() ? "" : " ", label.c_str(), format_value(t, q).c_str(),
                  quantized ? (q - zp) * scale : q);
    }
    if (count > 0) {
      std::size_t best = 0;
      for (std::size_t i = 1; i < count; ++i) {
        if (element_value(t, data, i) > element_value(t, data, best)) best = i;
      }
      std::printf("  argmax: %zu%s%s\n", best, best < opt.labels.size() ? " " : "",
                  best < opt.labels.size() ? opt.labels[best].c_str() : "");
    }
    const auto it = golden.final_values.find(index);
    if (it != golden.final_values.end()) {
      bool same = it->second.size() == count;
      for (std::size_t i = 0; same && i < count; ++i) same = static_cast<double>(it->second[i]) == element_value(t, data, i);
      std::string values;
      for (std::size_t i = 0; i < it->second.size() && i < 16; ++i) values += (i ? ", " : "") + std::to_string(it->second[i]);
      std::printf("  golden final values: [%s]%s -> %s\n", values.c_str(), it->second.size() > 16 ? ", ..." : "",
                  same ? "match" : "DIFFER");
      finals_match = finals_match && same;
    }
  }

  std::printf("\n");
  if (has_golden) {
    if (checked == 0) {
      std::printf("summary: the golden folder has no per-layer tensors for this model\n");
      return 2;
    }
    if (differing == 0 && finals_match) {
      std::printf("summary: all %zu layers bit-exact against %s (%zu of %zu layers had golden tensors), %.1f us\n", n,
                  golden.dir.c_str(), checked, n, total_us);
      return 0;
    }
    std::printf("summary: %zu of %zu layers DIFFER from %s%s\n", differing, checked, golden.dir.c_str(),
                finals_match ? "" : " (and the final outputs differ)");
    return 2;
  }
  std::printf("summary: %zu layers ran, %.1f us\n", n, total_us);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const options opt = parse_args(argc, argv);
  std::vector<std::uint8_t> bytes;
  std::string error;
  if (!read_file(opt.model, bytes, error)) die(error);
  tfl::model m;
  if (!tfl::parse_model(bytes.data(), bytes.size(), m, error)) die(opt.model + ": " + error);
  if (opt.inspect) {
    network net;
    qkern_run::build_options build = opt.build;
    build.max_arena_bytes = std::numeric_limits<std::size_t>::max();  // nothing is allocated
    net.build(m, build);
    const qkern_run::audit_result r = qkern_run::inspect_model(m, net, base_name(opt.model), std::cout);
    return r.clean() ? 0 : 2;
  }
  return run(opt, m);
}
