// A TFLite model mapped onto qkern: every operator of subgraph 0 goes through its qkern prepare
// step once (build), and eval then runs the kernels on one arena allocated up front.
//
//   qkern_run::network net;
//   if (!net.build(model, {})) { print net.error() and each net.layers()[i].error; }
//   net.allocate();                                  // the one allocation: the arena
//   std::memcpy(net.tensor_data(input), bytes, n);   // fill the inputs
//   for (std::size_t i = 0; i < net.layers().size(); ++i) net.run_layer(i);
//
// Activations live in the arena: each non-constant tensor gets a 16-byte aligned slot, and
// tensors whose lifetimes (first write to last read) do not overlap share bytes (a greedy
// first-fit plan, largest tensors first). Constant int8 data (weights) is read in place from the
// model bytes; wider constants (biases, shapes) are copied once at build time, since a .tflite
// file guarantees no alignment. Build allocates what prepare needs (per-channel scales and
// multipliers); eval allocates nothing.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "qkern/core/core.hpp"
#include "qkern/kernels/activation.hpp"
#include "qkern/kernels/conv.hpp"
#include "qkern/kernels/elementwise.hpp"
#include "qkern/kernels/layout.hpp"
#include "qkern/kernels/pooling.hpp"
#include "tflite_reader.hpp"

namespace qkern_run {

enum class rounding_mode { double_rounding, single_rounding };

struct build_options {
  rounding_mode rounding = rounding_mode::double_rounding;
  bool scalar = false;                                   // qkern::scalar:: evals instead of the dispatching ones
  bool reuse_memory = true;                              // share arena bytes between disjoint lifetimes
  std::size_t max_arena_bytes = std::size_t{1} << 31;    // refuse plans above this
};

// What the runner knows about one tensor of subgraph 0.
struct tensor_info {
  const tfl::tensor* t = nullptr;
  int index = 0;
  qkern::shape shape{};
  bool shape_ok = false;
  std::string shape_error;          // why shape_ok is false
  std::size_t element_size = 0;     // 0: a type without a fixed size
  std::size_t bytes = 0;
  const std::uint8_t* constant = nullptr;  // the buffer's bytes in the file, when it has any
  std::size_t constant_size = 0;
  bool graph_input = false;
  bool graph_output = false;
  int producer = -1;                // the op that writes it (-1: none)
  int last_reader = -1;             // the last op that reads it
  bool in_arena = false;
  std::size_t offset = 0;           // in the arena

  bool is_constant() const noexcept { return constant != nullptr; }
  tfl::tensor_type type() const noexcept { return t->type; }
};

struct layer {
  std::size_t index = 0;
  std::int32_t builtin = 0;
  std::string name;                 // "CONV_2D"
  std::int32_t version = 1;
  std::string kernel;               // what it maps to, e.g. "conv2d<int8> 3x3 /2 SAME RELU6"
  std::string error;                // non-empty: qkern_run cannot run this op, and why
  std::function<void(std::byte*)> eval;  // runs the kernel on the arena
};

inline std::string shape_string(const std::vector<std::int32_t>& dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

inline std::string shape_string(const qkern::shape& s) {
  std::string out = "[";
  for (int i = 0; i < s.rank; ++i) out += (i ? "," : "") + std::to_string(s.dims[i]);
  return out + "]";
}

inline std::string status_string(const qkern::status& s) {
  char buf[512];
  s.format(buf, sizeof buf);
  return buf;
}

namespace detail {

// A tensor as a kernel sees it: a constant (pointer fixed at build) or an arena slot.
struct operand {
  const std::byte* constant = nullptr;
  std::size_t offset = 0;

  template <class T>
  const T* in(std::byte* arena) const noexcept {
    return reinterpret_cast<const T*>(constant != nullptr ? constant : arena + offset);
  }
  template <class T>
  T* out(std::byte* arena) const noexcept {
    return reinterpret_cast<T*>(arena + offset);
  }
};

// Weights packed once when the network is built, as an interpreter's prepare step would: the
// SIMD eval then reads them in the dot-product layout instead of repacking on every call.
struct packed_storage {
  std::vector<unsigned char> bytes;
  qkern::packed_weights weights{};

  // 64-byte aligned storage of `size` bytes inside `bytes`.
  unsigned char* reserve(std::size_t size) {
    bytes.assign(size + 63, 0);
    const auto address = reinterpret_cast<std::uintptr_t>(bytes.data());
    return bytes.data() + ((64 - address % 64) % 64);
  }
};

inline const char* activation_name(qkern::fused_activation a) {
  switch (a) {
    case qkern::fused_activation::none: return "";
    case qkern::fused_activation::relu: return " RELU";
    case qkern::fused_activation::relu6: return " RELU6";
    case qkern::fused_activation::relu_n1_to_1: return " RELU_N1_TO_1";
  }
  return "";
}

template <class T>
const char* type_name() {
  if constexpr (std::is_same<T, std::int8_t>::value) return "int8";
  else if constexpr (std::is_same<T, std::int16_t>::value) return "int16";
  else if constexpr (std::is_same<T, std::uint8_t>::value) return "uint8";
  else if constexpr (std::is_same<T, std::int32_t>::value) return "int32";
  else if constexpr (std::is_same<T, std::int64_t>::value) return "int64";
  else return "float32";
}

}  // namespace detail

class network {
 public:
  network() = default;
  network(const network&) = delete;  // layers hold pointers into storage this object owns
  network& operator=(const network&) = delete;

  // Prepares every operator of subgraph 0. Returns false when the model cannot run: error()
  // says why, and each layer that failed has its own error. Build never touches the arena.
  bool build(const tfl::model& m, const build_options& options = {}) {
    model_ = &m;
    options_ = options;
    if (m.subgraphs.empty()) return fail("the model has no subgraph");
    if (m.subgraphs.size() > 1) notes_.push_back("the model has " + std::to_string(m.subgraphs.size()) +
                                               " subgraphs; only subgraph 0 is run");
    const tfl::subgraph& g = m.subgraphs[0];
    describe_tensors(g);
    layers_.resize(g.operators.size());
    for (std::size_t i = 0; i < g.operators.size(); ++i) {
      layer& l = layers_[i];
      const tfl::operator_& o = g.operators[i];
      const tfl::operator_code& code = m.operator_codes[o.opcode_index];
      l.index = i;
      l.builtin = code.builtin;
      l.version = code.version;
      l.name = code.builtin == tfl::op::custom ? "CUSTOM(" + sanitize(code.custom_code) + ")" : tfl::builtin_name(code.builtin);
    }
    if (!plan_arena(g)) return false;
    std::size_t failed = 0;
    for (std::size_t i = 0; i < g.operators.size(); ++i) {
      if (options.rounding == rounding_mode::single_rounding) {
        prepare_layer<qkern::single_rounding>(i);
      } else {
        prepare_layer<qkern::double_rounding>(i);
      }
      if (!layers_[i].error.empty()) ++failed;
    }
    for (std::int32_t index : g.inputs) {
      const tensor_info& t = tensors_[static_cast<std::size_t>(index)];
      if (!t.shape_ok) return fail("input tensor " + std::to_string(index) + ": " + t.shape_error);
    }
    if (failed > 0) {
      return fail(std::to_string(failed) + " of " + std::to_string(layers_.size()) + " operators cannot run on qkern");
    }
    return true;
  }

  const std::string& error() const noexcept { return error_; }
  const std::vector<std::string>& notes() const noexcept { return notes_; }
  const std::vector<layer>& layers() const noexcept { return layers_; }
  const std::vector<tensor_info>& tensors() const noexcept { return tensors_; }
  const tensor_info& tensor(std::size_t index) const { return tensors_[index]; }
  std::size_t arena_bytes() const noexcept { return arena_bytes_; }
  std::size_t unshared_bytes() const noexcept { return unshared_bytes_; }

  // The single allocation eval needs. Zero-filled.
  void allocate() { arena_.assign(arena_bytes_, std::byte{0}); }
  bool allocated() const noexcept { return arena_.size() == arena_bytes_ && (arena_bytes_ == 0 || !arena_.empty()); }

  // The bytes of an arena tensor (nullptr for constants and tensors outside the arena).
  std::byte* tensor_data(std::size_t index) {
    const tensor_info& t = tensors_[index];
    return t.in_arena && allocated() ? arena_.data() + t.offset : nullptr;
  }

  // Precondition: build() succeeded and allocate() was called.
  void run_layer(std::size_t i) { layers_[i].eval(arena_.data()); }

 private:
  bool fail(const std::string& message) {
    if (error_.empty()) error_ = message;
    return false;
  }

  static std::string sanitize(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 64)) out += (c >= 32 && c < 127) ? c : '?';
    return out;
  }

  void describe_tensors(const tfl::subgraph& g) {
    tensors_.resize(g.tensors.size());
    for (std::size_t i = 0; i < g.tensors.size(); ++i) {
      tensor_info& info = tensors_[i];
      const tfl::tensor& t = g.tensors[i];
      info.t = &t;
      info.index = static_cast<int>(i);
      info.element_size = tfl::tensor_type_size(t.type);
      if (t.buffer < model_->buffers.size() && model_->buffers[t.buffer].data != nullptr) {
        info.constant = model_->buffers[t.buffer].data;
        info.constant_size = model_->buffers[t.buffer].size;
      }
      if (t.shape.size() > static_cast<std::size_t>(qkern::max_rank)) {
        info.shape_error = "rank " + std::to_string(t.shape.size()) + " is above qkern's limit of 6";
      } else {
        info.shape.rank = static_cast<int>(t.shape.size());
        for (std::size_t d = 0; d < t.shape.size(); ++d) info.shape.dims[d] = t.shape[d];
        const qkern::status s = qkern::validate_shape(info.shape);
        if (!s.ok()) {
          info.shape_error = "shape " + shape_string(t.shape) + ": " + status_string(s);
        } else if (info.element_size == 0) {
          info.shape_error = std::string("type ") + tfl::tensor_type_name(t.type) + " (" + std::to_string(t.raw_type) +
                             ") has no fixed element size";
        } else {
          info.shape_ok = true;
          info.bytes = static_cast<std::size_t>(info.shape.element_count()) * info.element_size;
        }
      }
    }
    for (std::int32_t index : g.inputs) tensors_[static_cast<std::size_t>(index)].graph_input = true;
    for (std::int32_t index : g.outputs) tensors_[static_cast<std::size_t>(index)].graph_output = true;
    for (std::size_t i = 0; i < g.operators.size(); ++i) {
      const auto op = static_cast<int>(i);
      for (std::int32_t index : g.operators[i].inputs) {
        if (index >= 0) tensors_[static_cast<std::size_t>(index)].last_reader = op;
      }
      for (std::int32_t index : g.operators[i].outputs) {
        tensor_info& t = tensors_[static_cast<std::size_t>(index)];
        if (t.producer < 0) t.producer = op;
      }
    }
  }

  // Lays out every non-constant tensor that an op or the graph touches.
  bool plan_arena(const tfl::subgraph& g) {
    struct slot {
      std::size_t tensor;
      std::size_t bytes;
      long first;
      long last;
      std::size_t offset;
    };
    std::vector<slot> slots;
    const long end = static_cast<long>(g.operators.size());
    for (tensor_info& t : tensors_) {
      const bool used = t.graph_input || t.graph_output || t.producer >= 0 || t.last_reader >= 0;
      if (!used || t.is_constant() || !t.shape_ok) continue;
      const long first = t.graph_input || t.producer < 0 ? -1 : t.producer;
      long last = t.graph_output ? end : std::max<long>(t.last_reader, first);
      if (t.graph_input && last < 0) last = 0;
      t.in_arena = true;
      slots.push_back({static_cast<std::size_t>(t.index), (t.bytes + 15) / 16 * 16, first, last, 0});
    }
    const std::size_t limit = options_.max_arena_bytes;
    // Each slot is below 2^35 bytes and there are fewer than 2^29 of them: no overflow.
    std::uint64_t total = 0;
    for (const slot& s : slots) total += s.bytes;
    unshared_bytes_ = static_cast<std::size_t>(std::min<std::uint64_t>(total, std::numeric_limits<std::size_t>::max()));
    // Greedy first fit, largest first; a very large graph (a corrupt file) is laid out flat.
    if (options_.reuse_memory && slots.size() <= 4096) {
      std::vector<std::size_t> order(slots.size());
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(),
                       [&](std::size_t a, std::size_t b) { return slots[a].bytes > slots[b].bytes; });
      std::vector<std::size_t> placed;
      std::vector<std::pair<std::size_t, std::size_t>> busy;  // [begin, end) of overlapping lifetimes
      arena_bytes_ = 0;
      for (std::size_t i : order) {
        slot& s = slots[i];
        busy.clear();
        for (std::size_t j : placed) {
          const slot& o = slots[j];
          if (o.first <= s.last && s.first <= o.last) busy.emplace_back(o.offset, o.offset + o.bytes);
        }
        std::sort(busy.begin(), busy.end());
        std::size_t offset = 0;
        for (const auto& b : busy) {
          if (b.first >= offset + s.bytes) break;
          offset = std::max(offset, b.second);
        }
        s.offset = offset;
        placed.push_back(i);
        arena_bytes_ = std::max(arena_bytes_, offset + s.bytes);
      }
    } else {
      arena_bytes_ = 0;
      for (slot& s : slots) {
        s.offset = arena_bytes_;
        arena_bytes_ += s.bytes;
        if (arena_bytes_ > limit) break;  // reported below; stops before size_t could wrap
      }
    }
    if (arena_bytes_ > limit) {
      return fail("the arena would need " + std::to_string(arena_bytes_) + " bytes, above the limit of " +
                  std::to_string(limit));
    }
    for (const slot& s : slots) tensors_[s.tensor].offset = s.offset;
    return true;
  }

  // --- per-op preparation ----------------------------------------------------------------------

  // The state of preparing one operator.
  struct op_context {
    network& net;
    layer& l;
    const tfl::operator_& o;

    bool fail(const std::string& message) {
      if (l.error.empty()) l.error = message;
      return false;
    }
    bool fail(const qkern::status& s, const char* step = "prepare") {
      return fail(std::string(step) + " failed: " + status_string(s));
    }

    std::size_t input_count() const { return o.inputs.size(); }
    // Input i, or nullptr when it is absent or -1 (optional and omitted).
    const tensor_info* input(std::size_t i) const {
      if (i >= o.inputs.size() || o.inputs[i] < 0) return nullptr;
      return &net.tensors_[static_cast<std::size_t>(o.inputs[i])];
    }
    const tensor_info* output(std::size_t i) const {
      if (i >= o.outputs.size()) return nullptr;
      return &net.tensors_[static_cast<std::size_t>(o.outputs[i])];
    }

    bool require_counts(std::size_t min_inputs, std::size_t max_inputs, std::size_t outputs) {
      if (o.inputs.size() < min_inputs || o.inputs.size() > max_inputs) {
        return fail("expects " + (min_inputs == max_inputs ? std::to_string(min_inputs)
                                                           : std::to_string(min_inputs) + " to " + std::to_string(max_inputs)) +
                    " inputs, the model gives " + std::to_string(o.inputs.size()));
      }
      if (o.outputs.size() != outputs) {
        return fail("expects " + std::to_string(outputs) + " output(s), the model gives " + std::to_string(o.outputs.size()));
      }
      for (std::size_t i = 0; i < min_inputs; ++i) {
        if (input(i) == nullptr) return fail("input " + std::to_string(i) + " is missing");
      }
      for (std::size_t i = 0; i < o.inputs.size(); ++i) {
        if (const tensor_info* t = input(i)) {
          if (!check_tensor(*t, "input " + std::to_string(i))) return false;
        }
      }
      for (std::size_t i = 0; i < outputs; ++i) {
        const tensor_info* t = output(i);
        if (!check_tensor(*t, "output " + std::to_string(i))) return false;
        if (t->is_constant()) return fail("output " + std::to_string(i) + " (tensor " + std::to_string(t->index) + ") is a constant");
        if (t->producer != static_cast<int>(l.index)) {
          return fail("output " + std::to_string(i) + " (tensor " + std::to_string(t->index) +
                      ") is also written by operator " + std::to_string(t->producer));
        }
        if (t->graph_input) return fail("output " + std::to_string(i) + " is a graph input");
      }
      return true;
    }

    bool check_tensor(const tensor_info& t, const std::string& role) {
      const std::string who = role + " (tensor " + std::to_string(t.index) + ")";
      if (!t.shape_ok) return fail(who + ": " + t.shape_error);
      if (t.t->is_variable) return fail(who + " is a variable tensor (state), which qkern_run does not support");
      if (t.t->has_sparsity) return fail(who + " is sparse, which qkern_run does not support");
      if (t.is_constant() && t.constant_size != t.bytes) {
        return fail(who + ": constant data has " + std::to_string(t.constant_size) + " bytes, its shape " +
                    shape_string(t.shape) + " of " + tfl::tensor_type_name(t.type()) + " needs " + std::to_string(t.bytes));
      }
      if (!t.is_constant() && !t.in_arena) return fail(who + " has no storage");
      if (!t.is_constant() && !t.graph_input && role.rfind("input", 0) == 0 &&
          (t.producer < 0 || t.producer >= static_cast<int>(l.index))) {
        return fail(who + " is read before any operator writes it");
      }
      return true;
    }

    bool require_type(const tensor_info& t, tfl::tensor_type type, const char* role) {
      if (t.type() != type) {
        return fail(std::string(role) + " (tensor " + std::to_string(t.index) + ") is " + tfl::tensor_type_name(t.type()) +
                    ", expected " + tfl::tensor_type_name(type));
      }
      return true;
    }

    bool require_constant(const tensor_info& t, const char* role) {
      if (!t.is_constant()) {
        return fail(std::string(role) + " (tensor " + std::to_string(t.index) +
                    ") must be a constant: qkern_run prepares it once");
      }
      return true;
    }

    // Per-tensor quantization of an activation.
    bool quant(const tensor_info& t, const char* role, qkern::quantization_params& q) {
      const tfl::quantization& tq = t.t->q;
      const std::string who = std::string(role) + " (tensor " + std::to_string(t.index) + ")";
      if (!tq.is_affine()) return fail(who + " has no quantization parameters (scale)");
      if (tq.scale.size() != 1) {
        return fail(who + " has " + std::to_string(tq.scale.size()) + " scales; an activation needs one (per-tensor)");
      }
      std::int64_t zp = tq.zero_point.empty() ? 0 : tq.zero_point[0];
      if (zp < std::numeric_limits<std::int32_t>::min() || zp > std::numeric_limits<std::int32_t>::max()) {
        return fail(who + " has zero point " + std::to_string(zp) + ", outside int32");
      }
      q.scale = tq.scale[0];
      q.zero_point = static_cast<std::int32_t>(zp);
      return true;
    }

    // Weights: one scale or one per channel, copied to storage the layer keeps.
    bool weights_quant(const tensor_info& t, qkern::per_channel_quantization& q,
                       std::shared_ptr<std::vector<float>>& scales) {
      const tfl::quantization& tq = t.t->q;
      const std::string who = "filter (tensor " + std::to_string(t.index) + ")";
      if (!tq.is_affine()) return fail(who + " has no quantization parameters (scale)");
      scales = std::make_shared<std::vector<float>>(tq.scale.size());
      for (std::size_t i = 0; i < tq.scale.size(); ++i) (*scales)[i] = tq.scale[i];
      std::int64_t zp = tq.zero_point.empty() ? 0 : tq.zero_point[0];
      for (std::size_t i = 1; i < tq.zero_point.size(); ++i) {
        if (tq.zero_point[i] != zp) return fail(who + " has different zero points per channel; weights must be symmetric");
      }
      if (zp < -128 || zp > 127) return fail(who + " has zero point " + std::to_string(zp) + ", outside int8");
      q.scales = scales->data();
      q.count = scales->size();
      q.zero_point = static_cast<std::int32_t>(zp);
      q.quantized_dimension = tq.quantized_dimension;
      return true;
    }

    // The data of a constant input as integers (int32 or int64 tensors, e.g. shapes, axes).
    bool const_ints(const tensor_info& t, const char* role, std::vector<std::int32_t>& out) {
      if (!require_constant(t, role)) return false;
      out.clear();
      const std::size_t n = t.bytes / std::max<std::size_t>(t.element_size, 1);
      if (n > 4096) return fail(std::string(role) + " has too many entries (" + std::to_string(n) + ")");
      if (t.type() == tfl::tensor_type::int32) {
        out.resize(n);
        if (n > 0) std::memcpy(out.data(), t.constant, n * 4);
        return true;
      }
      if (t.type() == tfl::tensor_type::int64) {
        for (std::size_t i = 0; i < n; ++i) {
          std::int64_t v;
          std::memcpy(&v, t.constant + 8 * i, 8);
          if (v < std::numeric_limits<std::int32_t>::min() || v > std::numeric_limits<std::int32_t>::max()) {
            return fail(std::string(role) + " entry " + std::to_string(v) + " is outside int32");
          }
          out.push_back(static_cast<std::int32_t>(v));
        }
        return true;
      }
      return fail(std::string(role) + " (tensor " + std::to_string(t.index) + ") is " + tfl::tensor_type_name(t.type()) +
                  ", expected int32 or int64");
    }

    // The kernel's view of a tensor. Constants wider than a byte are copied to aligned storage.
    detail::operand operand(const tensor_info& t) {
      detail::operand op;
      if (!t.is_constant()) {
        op.offset = t.offset;
        return op;
      }
      if (t.element_size <= 1) {
        op.constant = reinterpret_cast<const std::byte*>(t.constant);
        return op;
      }
      net.owned_.emplace_back((t.bytes + 7) / 8);
      std::memcpy(net.owned_.back().data(), t.constant, t.bytes);
      op.constant = reinterpret_cast<const std::byte*>(net.owned_.back().data());
      return op;
    }

    bool expect_output_shape(const tensor_info& out, const qkern::shape& computed) {
      if (out.shape == computed) return true;
      return fail("output shape mismatch: the model declares " + shape_string(out.shape) + " for tensor " +
                  std::to_string(out.index) + ", qkern computes " + shape_string(computed));
    }
    bool expect_output_count(const tensor_info& out, const qkern::shape& in) {
      if (out.shape.element_count() == in.element_count()) return true;
      return fail("output shape mismatch: tensor " + std::to_string(out.index) + " is " + shape_string(out.shape) +
                  ", the input is " + shape_string(in));
    }

    bool activation(tfl::activation_type a, qkern::fused_activation& out) {
      switch (a) {
        case tfl::activation_type::none: out = qkern::fused_activation::none; return true;
        case tfl::activation_type::relu: out = qkern::fused_activation::relu; return true;
        case tfl::activation_type::relu6: out = qkern::fused_activation::relu6; return true;
        case tfl::activation_type::relu_n1_to_1: out = qkern::fused_activation::relu_n1_to_1; return true;
        default:
          return fail("fused activation " + std::to_string(static_cast<int>(a)) +
                      " (TANH, SIGN_BIT or unknown) is not supported by integer kernels");
      }
    }

    bool padding(std::int8_t raw, qkern::padding_kind& out) {
      if (raw == 0) out = qkern::padding_kind::same;
      else if (raw == 1) out = qkern::padding_kind::valid;
      else return fail("padding " + std::to_string(raw) + " is neither SAME nor VALID");
      return true;
    }

    bool options_ok(tfl::options_reader& r) {
      if (!r.ok()) return fail("builtin options: " + r.error());
      return true;
    }
    bool expect_options(std::uint8_t type, const char* name) {
      if (o.options_type != tfl::options_type::none && o.options_type != type) {
        return fail(std::string("builtin options are of union type ") + std::to_string(o.options_type) + ", expected " +
                    name + " (" + std::to_string(type) + ")");
      }
      return true;
    }
  };

  template <class Policy>
  void prepare_layer(std::size_t i) {
    const tfl::operator_& o = model_->subgraphs[0].operators[i];
    op_context c{*this, layers_[i], o};
    // The tensor types decide the element type; most ops are int8 or int16 on both sides.
    switch (layers_[i].builtin) {
      case tfl::op::conv_2d: return dispatch_int8_int16(c, [&](auto t) { map_conv<decltype(t), Policy>(c); });
      case tfl::op::depthwise_conv_2d: return dispatch_int8_int16(c, [&](auto t) { map_depthwise<decltype(t), Policy>(c); });
      case tfl::op::fully_connected: return dispatch_int8_int16(c, [&](auto t) { map_fully_connected<decltype(t), Policy>(c); });
      case tfl::op::average_pool_2d:
      case tfl::op::max_pool_2d: return dispatch_int8_int16(c, [&](auto t) { map_pool<decltype(t)>(c); });
      case tfl::op::mean: return dispatch_int8_int16(c, [&](auto t) { map_mean<decltype(t), Policy>(c); });
      case tfl::op::add:
      case tfl::op::sub:
      case tfl::op::mul: return dispatch_int8_int16(c, [&](auto t) { map_binary<decltype(t), Policy>(c); });
      case tfl::op::softmax: return map_softmax<Policy>(c);
      case tfl::op::logistic:
      case tfl::op::tanh:
      case tfl::op::relu:
      case tfl::op::relu_n1_to_1:
      case tfl::op::relu6:
      case tfl::op::leaky_relu:
      case tfl::op::hard_swish: return dispatch_int8_int16(c, [&](auto t) { map_unary<decltype(t), Policy>(c); });
      case tfl::op::reshape:
      case tfl::op::squeeze:
      case tfl::op::expand_dims: return map_reshape(c);
      case tfl::op::pad:
      case tfl::op::padv2: return dispatch_int8_int16(c, [&](auto t) { map_pad<decltype(t)>(c); });
      case tfl::op::transpose: return dispatch_int8_int16(c, [&](auto t) { map_transpose<decltype(t)>(c); });
      case tfl::op::concatenation: return dispatch_int8_int16(c, [&](auto t) { map_concatenation<decltype(t), Policy>(c); });
      case tfl::op::quantize: return map_quantize<Policy>(c);
      case tfl::op::dequantize: return map_dequantize(c);
      default:
        c.fail("unsupported operator " + layers_[i].name + ": qkern_run has no mapping for it");
        return;
    }
  }

  // Runs f(T{}) for T = the type of output 0 (int8 or int16), after checking the counts.
  template <class F>
  void dispatch_int8_int16(op_context& c, F&& f) {
    if (c.o.outputs.empty()) {
      c.fail("has no output");
      return;
    }
    const tensor_info* out = c.output(0);
    if (out->type() == tfl::tensor_type::int8) {
      f(std::int8_t{});
    } else if (out->type() == tfl::tensor_type::int16) {
      f(std::int16_t{});
    } else if (tfl::is_float_type(out->type())) {
      c.fail(std::string("float output (") + tfl::tensor_type_name(out->type()) +
             "): a float layer, which qkern (integer kernels) cannot run");
    } else {
      c.fail(std::string("output type ") + tfl::tensor_type_name(out->type()) + " is not supported (int8 or int16 only)");
    }
  }

  // Every listed tensor has element type T.
  template <class T>
  bool require_all(op_context& c, std::initializer_list<const tensor_info*> ts, const char* role) {
    const tfl::tensor_type want = std::is_same<T, std::int8_t>::value ? tfl::tensor_type::int8 : tfl::tensor_type::int16;
    for (const tensor_info* t : ts) {
      if (t != nullptr && !c.require_type(*t, want, role)) return false;
    }
    return true;
  }

  template <class T, class Policy, class Bias>
  bool load_bias(op_context& c, const tensor_info* bias, std::int32_t channels, std::shared_ptr<std::vector<Bias>>& out) {
    if (bias == nullptr) return true;
    const tfl::tensor_type want = std::is_same<Bias, std::int64_t>::value ? tfl::tensor_type::int64 : tfl::tensor_type::int32;
    if (!c.require_type(*bias, want, "bias") || !c.require_constant(*bias, "bias")) return false;
    if (bias->shape.element_count() != channels) {
      return c.fail("bias (tensor " + std::to_string(bias->index) + ") has " + std::to_string(bias->shape.element_count()) +
                    " values for " + std::to_string(channels) + " output channels");
    }
    out = std::make_shared<std::vector<Bias>>(static_cast<std::size_t>(channels));
    std::memcpy(out->data(), bias->constant, bias->bytes);
    return true;
  }

  // int16 activations take an int64 bias (or, for conv and fully connected, int32).
  template <class T, class F>
  void with_bias_type(op_context& c, bool int32_allowed_for_int16, F&& f) {
    const tensor_info* bias = c.input(2);
    if constexpr (std::is_same<T, std::int16_t>::value) {
      if (bias != nullptr && bias->type() == tfl::tensor_type::int32) {
        if (int32_allowed_for_int16) f(std::int32_t{});
        else c.fail("int16 activations need an int64 bias");
        return;
      }
      f(std::int64_t{});
    } else {
      f(std::int32_t{});
    }
  }

  template <class T, class Policy>
  void map_conv(op_context& c) {
    with_bias_type<T>(c, true, [&](auto b) { map_conv_with_bias<T, Policy, decltype(b)>(c); });
  }

  template <class T, class Policy, class Bias>
  void map_conv_with_bias(op_context& c) {
    if (!c.require_counts(2, 3, 1) || !c.expect_options(tfl::options_type::conv_2d, "Conv2DOptions")) return;
    const tensor_info& in = *c.input(0);
    const tensor_info& filter = *c.input(1);
    const tensor_info* bias = c.input(2);
    const tensor_info& out = *c.output(0);
    if (!require_all<T>(c, {&in, &out}, "activation") || !c.require_type(filter, tfl::tensor_type::int8, "filter") ||
        !c.require_constant(filter, "filter")) return;
    tfl::options_reader r(*model_, c.o);
    qkern::conv2d_options options;
    qkern::fused_activation act{};
    if (!c.padding(r.i8(0), options.padding) || !c.activation(static_cast<tfl::activation_type>(r.i8(3)), act)) return;
    options.stride_width = r.i32(1);
    options.stride_height = r.i32(2);
    options.dilation_width = r.i32(4, 1);
    options.dilation_height = r.i32(5, 1);
    options.activation = act;
    if (!c.options_ok(r)) return;
    qkern::quantization_params qi, qo;
    qkern::per_channel_quantization qf;
    std::shared_ptr<std::vector<float>> scales;
    if (!c.quant(in, "input", qi) || !c.quant(out, "output", qo) || !c.weights_quant(filter, qf, scales)) return;
    if (filter.shape.rank != 4) return void(c.fail("filter must have rank 4 (OHWI), it is " + shape_string(filter.shape)));
    const std::int32_t channels = filter.shape[0];
    std::shared_ptr<std::vector<Bias>> bias_data;
    if (!load_bias<T, Policy, Bias>(c, bias, channels, bias_data)) return;
    auto multipliers = std::make_shared<std::vector<typename Policy::multiplier_type>>(static_cast<std::size_t>(channels));
    const auto p = qkern::prepare_conv2d<T, Policy, Bias>(qi, in.shape, qf, filter.shape,
                                                         bias_data ? bias_data->data() : nullptr, qo, options,
                                                         {multipliers->data(), multipliers->size()});
    if (!p.ok()) return void(c.fail(p.error()));
    if (!c.expect_output_shape(out, p->output_shape)) return;
    c.l.kernel = std::string("conv2d<") + detail::type_name<T>() + "> " + std::to_string(filter.shape[1]) + "x" +
                 std::to_string(filter.shape[2]) + " stride " + std::to_string(options.stride_height) + "x" +
                 std::to_string(options.stride_width) + (options.padding == qkern::padding_kind::same ? " SAME" : " VALID") +
                 (p->groups > 1 ? " groups " + std::to_string(p->groups) : "") + detail::activation_name(act);
    const detail::operand a = c.operand(in), w = c.operand(filter), y = c.operand(out);
    const bool scalar = options_.scalar;
    if constexpr (std::is_same<T, std::int8_t>::value) {
      if (!scalar) {
        auto packed = std::make_shared<detail::packed_storage>();
        const Bias* b = bias_data ? bias_data->data() : nullptr;
        auto packing = qkern::pack_conv2d_weights(*p, w.in<std::int8_t>(nullptr), b,
                                                  packed->reserve(p->packed_weights_size), p->packed_weights_size);
        if (!packing.ok()) return void(c.fail(packing.error()));
        packed->weights = *packing;
        c.l.eval = [p = *p, a, y, packed, bias_data, multipliers, scales](std::byte* arena) {
          qkern::conv2d(p, packed->weights, a.in<T>(arena), y.out<T>(arena));
        };
        return;
      }
    }
    c.l.eval = [p = *p, a, w, y, bias_data, multipliers, scales, scalar](std::byte* arena) {
      const Bias* b = bias_data ? bias_data->data() : nullptr;
      if (scalar) qkern::scalar::conv2d(p, a.in<T>(arena), w.in<std::int8_t>(arena), b, y.out<T>(arena));
      else qkern::conv2d(p, a.in<T>(arena), w.in<std::int8_t>(arena), b, y.out<T>(arena));
    };
  }

  template <class T, class Policy>
  void map_depthwise(op_context& c) {
    with_bias_type<T>(c, false, [&](auto b) {
      if constexpr (std::is_same<decltype(b), qkern::default_bias_t<T>>::value) map_depthwise_with_bias<T, Policy>(c);
    });
  }

  template <class T, class Policy>
  void map_depthwise_with_bias(op_context& c) {
    using Bias = qkern::default_bias_t<T>;
    if (!c.require_counts(2, 3, 1) || !c.expect_options(tfl::options_type::depthwise_conv_2d, "DepthwiseConv2DOptions")) return;
    const tensor_info& in = *c.input(0);
    const tensor_info& filter = *c.input(1);
    const tensor_info* bias = c.input(2);
    const tensor_info& out = *c.output(0);
    if (!require_all<T>(c, {&in, &out}, "activation") || !c.require_type(filter, tfl::tensor_type::int8, "filter") ||
        !c.require_constant(filter, "filter")) return;
    tfl::options_reader r(*model_, c.o);
    qkern::depthwise_conv2d_options options;
    qkern::fused_activation act{};
    if (!c.padding(r.i8(0), options.padding) || !c.activation(static_cast<tfl::activation_type>(r.i8(4)), act)) return;
    options.stride_width = r.i32(1);
    options.stride_height = r.i32(2);
    const std::int32_t declared_multiplier = r.i32(3);
    options.dilation_width = r.i32(5, 1);
    options.dilation_height = r.i32(6, 1);
    options.activation = act;
    if (!c.options_ok(r)) return;
    if (in.shape.rank != 4 || filter.shape.rank != 4) {
      return void(c.fail("input and filter must have rank 4, they are " + shape_string(in.shape) + " and " +
                         shape_string(filter.shape)));
    }
    // The schema calls depth_multiplier redundant: the shapes decide it (C_out / C_in).
    if (in.shape[3] <= 0 || filter.shape[3] % in.shape[3] != 0) {
      return void(c.fail("filter channels (" + std::to_string(filter.shape[3]) + ") are not a multiple of input channels (" +
                         std::to_string(in.shape[3]) + ")"));
    }
    options.depth_multiplier = filter.shape[3] / in.shape[3];
    if (declared_multiplier != 0 && declared_multiplier != options.depth_multiplier) {
      return void(c.fail("depth_multiplier option " + std::to_string(declared_multiplier) +
                         " disagrees with the shapes (filter channels / input channels = " +
                         std::to_string(options.depth_multiplier) + ")"));
    }
    qkern::quantization_params qi, qo;
    qkern::per_channel_quantization qf;
    std::shared_ptr<std::vector<float>> scales;
    if (!c.quant(in, "input", qi) || !c.quant(out, "output", qo) || !c.weights_quant(filter, qf, scales)) return;
    const std::int32_t channels = filter.shape[3];
    std::shared_ptr<std::vector<Bias>> bias_data;
    if (!load_bias<T, Policy, Bias>(c, bias, channels, bias_data)) return;
    auto multipliers = std::make_shared<std::vector<typename Policy::multiplier_type>>(static_cast<std::size_t>(channels));
    const auto p = qkern::prepare_depthwise_conv2d<T, Policy, Bias>(qi, in.shape, qf, filter.shape,
                                                                   bias_data ? bias_data->data() : nullptr, qo, options,
                                                                   {multipliers->data(), multipliers->size()});
    if (!p.ok()) return void(c.fail(p.error()));
    if (!c.expect_output_shape(out, p->output_shape)) return;
    c.l.kernel = std::string("depthwise_conv2d<") + detail::type_name<T>() + "> " + std::to_string(filter.shape[1]) + "x" +
                 std::to_string(filter.shape[2]) + " stride " + std::to_string(options.stride_height) + "x" +
                 std::to_string(options.stride_width) + (options.padding == qkern::padding_kind::same ? " SAME" : " VALID") +
                 (options.depth_multiplier > 1 ? " multiplier " + std::to_string(options.depth_multiplier) : "") +
                 detail::activation_name(act);
    const detail::operand a = c.operand(in), w = c.operand(filter), y = c.operand(out);
    const bool scalar = options_.scalar;
    c.l.eval = [p = *p, a, w, y, bias_data, multipliers, scales, scalar](std::byte* arena) {
      const Bias* b = bias_data ? bias_data->data() : nullptr;
      if (scalar) qkern::scalar::depthwise_conv2d(p, a.in<T>(arena), w.in<std::int8_t>(arena), b, y.out<T>(arena));
      else qkern::depthwise_conv2d(p, a.in<T>(arena), w.in<std::int8_t>(arena), b, y.out<T>(arena));
    };
  }

  template <class T, class Policy>
  void map_fully_connected(op_context& c) {
    with_bias_type<T>(c, true, [&](auto b) { map_fully_connected_with_bias<T, Policy, decltype(b)>(c); });
  }

  template <class T, class Policy, class Bias>
  void map_fully_connected_with_bias(op_context& c) {
    if (!c.require_counts(2, 3, 1) || !c.expect_options(tfl::options_type::fully_connected, "FullyConnectedOptions")) return;
    const tensor_info& in = *c.input(0);
    const tensor_info& weights = *c.input(1);
    const tensor_info* bias = c.input(2);
    const tensor_info& out = *c.output(0);
    if (!require_all<T>(c, {&in, &out}, "activation") || !c.require_type(weights, tfl::tensor_type::int8, "weights") ||
        !c.require_constant(weights, "weights")) return;
    tfl::options_reader r(*model_, c.o);
    qkern::fully_connected_options options;
    if (!c.activation(static_cast<tfl::activation_type>(r.i8(0)), options.activation)) return;
    const std::int8_t format = r.i8(1);
    options.keep_num_dims = r.boolean(2);
    if (!c.options_ok(r)) return;
    if (format != 0) return void(c.fail("weights_format " + std::to_string(format) + " (shuffled) is not supported"));
    qkern::quantization_params qi, qo;
    qkern::per_channel_quantization qf;
    std::shared_ptr<std::vector<float>> scales;
    if (!c.quant(in, "input", qi) || !c.quant(out, "output", qo) || !c.weights_quant(weights, qf, scales)) return;
    if (weights.shape.rank != 2) return void(c.fail("weights must have rank 2, they are " + shape_string(weights.shape)));
    const std::int32_t units = weights.shape[0];
    std::shared_ptr<std::vector<Bias>> bias_data;
    if (!load_bias<T, Policy, Bias>(c, bias, units, bias_data)) return;
    auto multipliers = std::make_shared<std::vector<typename Policy::multiplier_type>>(
        qf.count > 1 ? static_cast<std::size_t>(units) : 0);
    const auto p = qkern::prepare_fully_connected<T, Policy, Bias>(
        qi, in.shape, qf, weights.shape, bias_data ? bias_data->data() : nullptr, qo, options,
        {multipliers->data(), multipliers->size()});
    if (!p.ok()) return void(c.fail(p.error()));
    // TFLite keeps the output tensor's declared shape; only the element count must agree.
    if (out.shape.element_count() != p->output_shape.element_count() ||
        (out.shape.rank > 0 && out.shape[out.shape.rank - 1] != units)) {
      return void(c.expect_output_shape(out, p->output_shape));
    }
    c.l.kernel = std::string("fully_connected<") + detail::type_name<T>() + "> " + std::to_string(p->depth) + " -> " +
                 std::to_string(units) + (qf.count > 1 ? " per-channel" : "") + detail::activation_name(options.activation);
    const detail::operand a = c.operand(in), w = c.operand(weights), y = c.operand(out);
    const bool scalar = options_.scalar;
    if constexpr (std::is_same<T, std::int8_t>::value) {
      if (!scalar) {
        auto packed = std::make_shared<detail::packed_storage>();
        const Bias* b = bias_data ? bias_data->data() : nullptr;
        auto packing = qkern::pack_fully_connected_weights(*p, w.in<std::int8_t>(nullptr), b,
                                                           packed->reserve(p->packed_weights_size),
                                                           p->packed_weights_size);
        if (!packing.ok()) return void(c.fail(packing.error()));
        packed->weights = *packing;
        c.l.eval = [p = *p, a, y, packed, bias_data, multipliers, scales](std::byte* arena) {
          qkern::fully_connected(p, packed->weights, a.in<T>(arena), y.out<T>(arena));
        };
        return;
      }
    }
    c.l.eval = [p = *p, a, w, y, bias_data, multipliers, scales, scalar](std::byte* arena) {
      const Bias* b = bias_data ? bias_data->data() : nullptr;
      if (scalar) qkern::scalar::fully_connected(p, a.in<T>(arena), w.in<std::int8_t>(arena), b, y.out<T>(arena));
      else qkern::fully_connected(p, a.in<T>(arena), w.in<std::int8_t>(arena), b, y.out<T>(arena));
    };
  }

  template <class T>
  void map_pool(op_context& c) {
    if (!c.require_counts(1, 1, 1) || !c.expect_options(tfl::options_type::pool_2d, "Pool2DOptions")) return;
    const tensor_info& in = *c.input(0);
    const tensor_info& out = *c.output(0);
    if (!require_all<T>(c, {&in, &out}, "activation")) return;
    tfl::options_reader r(*model_, c.o);
    qkern::pool2d_window window;
    const std::int8_t pad = r.i8(0);
    if (pad != 0 && pad != 1) return void(c.fail("padding " + std::to_string(pad) + " is neither SAME nor VALID"));
    window.padding = pad == 0 ? qkern::pool_padding::same : qkern::pool_padding::valid;
    window.stride_width = r.i32(1);
    window.stride_height = r.i32(2);
    window.filter_width = r.i32(3);
    window.filter_height = r.i32(4);
    qkern::fused_activation act{};
    if (!c.activation(static_cast<tfl::activation_type>(r.i8(5)), act) || !c.options_ok(r)) return;
    qkern::quantization_params qi, qo;
    if (!c.quant(in, "input", qi) || !c.quant(out, "output", qo)) return;
    const bool is_max = c.l.builtin == tfl::op::max_pool_2d;
    const auto p = is_max ? qkern::prepare_max_pool2d<T>(qi, in.shape, qo, window, act)
                          : qkern::prepare_average_pool2d<T>(qi, in.shape, qo, window, act);
    if (!p.ok()) return void(c.fail(p.error()));
    if (!c.expect_output_shape(out, p->output)) return;
    c.l.kernel = std::string(is_max ? "max_pool2d<" : "average_pool2d<") + detail::type_name<T>() + "> " +
                 std::to_string(window.filter_height) + "x" + std::to_string(window.filter_width) + " stride " +
                 std::to_string(window.stride_height) + "x" + std::to_string(window.stride_width) +
                 (pad == 0 ? " SAME" : " VALID") + detail::activation_name(act);
    const detail::operand a = c.operand(in), y = c.operand(out);
    const bool scalar = options_.scalar;
    if (is_max) {
      c.l.eval = [p = *p, a, y, scalar](std::byte* arena) {
        if (scalar) qkern::scalar::max_pool2d(p, a.in<T>(arena), y.out<T>(arena));
        else qkern::max_pool2d(p, a.in<T>(arena), y.out<T>(arena));
      };
    } else {
      c.l.eval = [p = *p, a, y, scalar](std::byte* arena) {
        if (scalar) qkern::scalar::average_pool2d(p, a.in<T>(arena), y.out<T>(arena));
        else qkern::average_pool2d(p, a.in<T>(arena), y.out<T>(arena));
      };
    }
  }

  template <class T, class Policy>
  void map_mean(op_context& c) {
    if (!c.require_counts(2, 2, 1) || !c.expect_options(tfl::options_type::reducer, "ReducerOptions")) return;
    const tensor_info& in = *c.input(0);
    const tensor_info& axes_tensor = *c.input(1);
    const tensor_info& out = *c.output(0);
    if (!require_all<T>(c, {&in, &out}, "activation")) return;
    std::vector<std::int32_t> axes;
    if (!c.const_ints(axes_tensor, "axis", axes)) return;
    tfl::options_reader r(*model_, c.o);
    const bool keep_dims = r.boolean(0);
    if (!c.options_ok(r)) return;
    qkern::quantization_params qi, qo;
    if (!c.quant(in, "input", qi) || !c.quant(out, "output", qo)) return;
    const auto p = qkern::prepare_mean<T, Policy>(qi, in.shape, axes.data(), static_cast<int>(axes.size()), qo, keep_dims);
    if (!p.ok()) return void(c.fail(p.error()));
    if (!c.expect_output_shape(out, p->output)) return;
    std::string list;
    for (std::int32_t a : axes) list += (list.empty() ? "" : ",") + std::to_string(a);
    c.l.kernel = std::string("mean<") + detail::type_name<T>() + "> axes {" + list + "}" + (keep_dims ? " keep_dims" : "");
    const detail::operand a = c.operand(in), y = c.operand(out);
    const bool scalar = options_.scalar;
    c.l.eval = [p = *p, a, y, scalar](std::byte* arena) {
      if (scalar) qkern::scalar::mean(p, a.in<T>(arena), y.out<T>(arena));
      else qkern::mean(p, a.in<T>(arena), y.out<T>(arena));
    };
  }

  template <class T, class Policy>
  void map_binary(op_context& c) {
    const std::int32_t op = c.l.builtin;
    const std::uint8_t type = op == tfl::op::add ? tfl::options_type::add
                              : op == tfl::op::sub ? tfl::options_type::sub : tfl::options_type::mul;
    if (!c.require_counts(2, 2, 1) || !c.expect_options(type, "AddOptions/SubOptions/MulOptions")) return;
    const tensor_info& in1 = *c.input(0);
    const tensor_info& in2 = *c.input(1);
    const tensor_info& out = *c.output(0);
    if (!require_all<T>(c, {&in1, &in2, &out}, "operand")) return;
    tfl::options_reader r(*model_, c.o);
    qkern::fused_activation act{};
    if (!c.activation(static_cast<tfl::activation_type>(r.i8(0)), act)) return;
    if (op != tfl::op::mul && std::is_same<T, std::int16_t>::value && !r.boolean(1, true)) {
      return void(c.fail("int16 with pot_scale_int16 = false (general int16 scales) is not supported"));
    }
    if (!c.options_ok(r)) return;
    qkern::quantization_params q1, q2, qo;
    if (!c.quant(in1, "input1", q1) || !c.quant(in2, "input2", q2) || !c.quant(out, "output", qo)) return;
    const detail::operand a = c.operand(in1), b = c.operand(in2), y = c.operand(out);
    const bool scalar = options_.scalar;
    const std::string suffix = std::string("<") + detail::type_name<T>() + ">" +
                               (in1.shape != in2.shape ? " broadcast" : "") + detail::activation_name(act);
    if (op == tfl::op::add) {
      const auto p = qkern::prepare_add<T, Policy>(q1, in1.shape, q2, in2.shape, qo, act);
      if (!p.ok()) return void(c.fail(p.error()));
      if (!c.expect_output_shape(out, p->broadcast.output)) return;
      c.l.kernel = "add" + suffix;
      c.l.eval = [p = *p, a, b, y, scalar](std::byte* arena) {
        if (scalar) qkern::scalar::add(p, a.in<T>(arena), b.in<T>(arena), y.out<T>(arena));
        else qkern::add(p, a.in<T>(arena), b.in<T>(arena), y.out<T>(arena));
      };
    } else if (op == tfl::op::sub) {
      const auto p = qkern::prepare_sub<T, Policy>(q1, in1.shape, q2, in2.shape, qo, act);
      if (!p.ok()) return void(c.fail(p.error()));
      if (!c.expect_output_shape(out, p->broadcast.output)) return;
      c.l.kernel = "sub" + suffix;
      c.l.eval = [p = *p, a, b, y, scalar](std::byte* arena) {
        if (scalar) qkern::scalar::sub(p, a.in<T>(arena), b.in<T>(arena), y.out<T>(arena));
        else qkern::sub(p, a.in<T>(arena), b.in<T>(arena), y.out<T>(arena));
      };
    } else {
      const auto p = qkern::prepare_mul<T, Policy>(q1, in1.shape, q2, in2.shape, qo, act);
      if (!p.ok()) return void(c.fail(p.error()));
      if (!c.expect_output_shape(out, p->broadcast.output)) return;
      c.l.kernel = "mul" + suffix;
      c.l.eval = [p = *p, a, b, y, scalar](std::byte* arena) {
        if (scalar) qkern::scalar::mul(p, a.in<T>(arena), b.in<T>(arena), y.out<T>(arena));
        else qkern::mul(p, a.in<T>(arena), b.in<T>(arena), y.out<T>(arena));
      };
    }
  }

  template <class Policy>
  void map_softmax(op_context& c) {
    if (!c.require_counts(1, 1, 1) || !c.expect_options(tfl::options_type::softmax, "SoftmaxOptions")) return;
    const tensor_info& in = *c.input(0);
    const tensor_info& out = *c.output(0);
    tfl::options_reader r(*model_, c.o);
    const float beta = r.f32(0);
    if (!c.options_ok(r)) return;
    qkern::quantization_params qi, qo;
    const auto run = [&](auto in_tag, auto out_tag) {
      using In = decltype(in_tag);
      using Out = decltype(out_tag);
      if (!c.quant(in, "input", qi) || !c.quant(out, "output", qo)) return;
      const auto p = qkern::prepare_softmax<In, Out, Policy>(qi, qo, beta, in.shape);
      if (!p.ok()) return void(c.fail(p.error()));
      if (!c.expect_output_shape(out, in.shape)) return;
      c.l.kernel = std::string("softmax<") + detail::type_name<In>() + "->" + detail::type_name<Out>() + "> beta " +
                   std::to_string(beta);
      const detail::operand a = c.operand(in), y = c.operand(out);
      const bool scalar = options_.scalar;
      c.l.eval = [p = *p, a, y, scalar](std::byte* arena) {
        if (scalar) qkern::scalar::softmax(p, a.in<In>(arena), y.out<Out>(arena));
        else qkern::softmax(p, a.in<In>(arena), y.out<Out>(arena));
      };
    };
    using tt = tfl::tensor_type;
    if (in.type() == tt::int8 && out.type() == tt::int8) run(std::int8_t{}, std::int8_t{});
    else if (in.type() == tt::int8 && out.type() == tt::int16) run(std::int8_t{}, std::int16_t{});
    else if (in.type() == tt::int16 && out.type() == tt::int16) run(std::int16_t{}, std::int16_t{});
    else c.fail(std::string("softmax ") + tfl::tensor_type_name(in.type()) + " -> " + tfl::tensor_type_name(out.type()) +
                " is not supported (int8->int8, int8->int16, int16->int16)");
  }

  template <class T, class Policy>
  void map_unary(op_context& c) {
    if (!c.require_counts(1, 1, 1)) return;
    const tensor_info& in = *c.input(0);
    const tensor_info& out = *c.output(0);
    if (!require_all<T>(c, {&in, &out}, "activation")) return;
    qkern::quantization_params qi, qo;
    if (!c.quant(in, "input", qi) || !c.quant(out, "output", qo)) return;
    if (!c.expect_output_shape(out, in.shape)) return;
    const detail::operand a = c.operand(in), y = c.operand(out);
    const bool scalar = options_.scalar;
    const std::string tname = std::string("<") + detail::type_name<T>() + ">";
    switch (c.l.builtin) {
      case tfl::op::logistic: {
        const auto p = qkern::prepare_logistic<T, Policy>(qi, qo, in.shape);
        if (!p.ok()) return void(c.fail(p.error()));
        c.l.kernel = "logistic" + tname;
        c.l.eval = [p = *p, a, y, scalar](std::byte* arena) {
          if (scalar) qkern::scalar::logistic(p, a.in<T>(arena), y.out<T>(arena));
          else qkern::logistic(p, a.in<T>(arena), y.out<T>(arena));
        };
        return;
      }
      case tfl::op::tanh: {
        const auto p = qkern::prepare_tanh<T, Policy>(qi, qo, in.shape);
        if (!p.ok()) return void(c.fail(p.error()));
        c.l.kernel = "tanh" + tname;
        c.l.eval = [p = *p, a, y, scalar](std::byte* arena) {
          if (scalar) qkern::scalar::tanh(p, a.in<T>(arena), y.out<T>(arena));
          else qkern::tanh(p, a.in<T>(arena), y.out<T>(arena));
        };
        return;
      }
      case tfl::op::relu:
      case tfl::op::relu_n1_to_1: {
        const bool n1 = c.l.builtin == tfl::op::relu_n1_to_1;
        const auto p = n1 ? qkern::prepare_relu_n1_to_1<T, Policy>(qi, qo, in.shape) : qkern::prepare_relu<T, Policy>(qi, qo, in.shape);
        if (!p.ok()) return void(c.fail(p.error()));
        c.l.kernel = (n1 ? "relu_n1_to_1" : "relu") + tname;
        c.l.eval = [p = *p, a, y, scalar, n1](std::byte* arena) {
          if (n1) {
            if (scalar) qkern::scalar::relu_n1_to_1(p, a.in<T>(arena), y.out<T>(arena));
            else qkern::relu_n1_to_1(p, a.in<T>(arena), y.out<T>(arena));
          } else {
            if (scalar) qkern::scalar::relu(p, a.in<T>(arena), y.out<T>(arena));
            else qkern::relu(p, a.in<T>(arena), y.out<T>(arena));
          }
        };
        return;
      }
      case tfl::op::relu6: {
        const auto p = qkern::prepare_relu6<T>(qi, qo, in.shape);
        if (!p.ok()) return void(c.fail(p.error()));
        c.l.kernel = "relu6" + tname;
        c.l.eval = [p = *p, a, y, scalar](std::byte* arena) {
          if (scalar) qkern::scalar::relu6(p, a.in<T>(arena), y.out<T>(arena));
          else qkern::relu6(p, a.in<T>(arena), y.out<T>(arena));
        };
        return;
      }
      case tfl::op::leaky_relu: {
        if (!c.expect_options(tfl::options_type::leaky_relu, "LeakyReluOptions")) return;
        tfl::options_reader r(*model_, c.o);
        const float alpha = r.f32(0);
        if (!c.options_ok(r)) return;
        const auto p = qkern::prepare_leaky_relu<T, Policy>(qi, qo, alpha, in.shape);
        if (!p.ok()) return void(c.fail(p.error()));
        c.l.kernel = "leaky_relu" + tname + " alpha " + std::to_string(alpha);
        c.l.eval = [p = *p, a, y, scalar](std::byte* arena) {
          if (scalar) qkern::scalar::leaky_relu(p, a.in<T>(arena), y.out<T>(arena));
          else qkern::leaky_relu(p, a.in<T>(arena), y.out<T>(arena));
        };
        return;
      }
      case tfl::op::hard_swish: {
        if constexpr (std::is_same<T, std::int8_t>::value) {
          const auto p = qkern::prepare_hard_swish<T, Policy>(qi, qo, in.shape);
          if (!p.ok()) return void(c.fail(p.error()));
          c.l.kernel = "hard_swish" + tname;
          c.l.eval = [p = *p, a, y, scalar](std::byte* arena) {
            if (scalar) qkern::scalar::hard_swish(p, a.in<T>(arena), y.out<T>(arena));
            else qkern::hard_swish(p, a.in<T>(arena), y.out<T>(arena));
          };
        } else {
          c.fail("hard_swish is int8 only");
        }
        return;
      }
      default:
        c.fail("internal: no unary mapping");
    }
  }

  void map_reshape(op_context& c) {
    if (!c.require_counts(1, 2, 1)) return;
    const tensor_info& in = *c.input(0);
    const tensor_info& out = *c.output(0);
    if (in.type() != out.type()) {
      return void(c.fail(std::string("input is ") + tfl::tensor_type_name(in.type()) + ", output " +
                         tfl::tensor_type_name(out.type())));
    }
    // The output tensor's declared shape is the new shape (TFLM resolves any -1 the same way).
    const auto p = qkern::prepare_reshape(in.shape, out.shape.dims, out.shape.rank);
    if (!p.ok()) return void(c.fail(p.error()));
    if (!c.expect_output_count(out, in.shape)) return;
    c.l.kernel = "reshape " + shape_string(in.shape) + " -> " + shape_string(out.shape);
    const detail::operand a = c.operand(in), y = c.operand(out);
    const bool scalar = options_.scalar;
    const std::size_t size = in.element_size;
    const auto run = [&](auto tag) {
      using E = decltype(tag);
      c.l.eval = [p = *p, a, y, scalar](std::byte* arena) {
        if (scalar) qkern::scalar::reshape(p, a.in<E>(arena), y.out<E>(arena));
        else qkern::reshape(p, a.in<E>(arena), y.out<E>(arena));
      };
    };
    if (size == 1) run(std::int8_t{});
    else if (size == 2) run(std::int16_t{});
    else if (size == 4) run(std::int32_t{});
    else if (size == 8) run(std::int64_t{});
    else c.fail(std::string("element type ") + tfl::tensor_type_name(in.type()) + " is not supported");
  }

  template <class T>
  void map_pad(op_context& c) {
    const bool v2 = c.l.builtin == tfl::op::padv2;
    if (!c.require_counts(2, v2 ? 3 : 2, 1)) return;
    const tensor_info& in = *c.input(0);
    const tensor_info& pads = *c.input(1);
    const tensor_info& out = *c.output(0);
    if (!require_all<T>(c, {&in, &out}, "activation")) return;
    std::vector<std::int32_t> paddings;
    if (!c.const_ints(pads, "paddings", paddings)) return;
    if (paddings.size() != 2 * static_cast<std::size_t>(in.shape.rank)) {
      return void(c.fail("paddings has " + std::to_string(paddings.size()) + " entries, the input's rank " +
                         std::to_string(in.shape.rank) + " needs " + std::to_string(2 * in.shape.rank)));
    }
    qkern::quantization_params qi, qo;
    if (!c.quant(in, "input", qi) || !c.quant(out, "output", qo)) return;
    qkern::result<qkern::pad_params<T>> p = qkern::status(qkern::status_code::invalid_argument, "not prepared");
    const tensor_info* constant = v2 ? c.input(2) : nullptr;
    if (constant != nullptr) {
      qkern::quantization_params qc;
      if (!require_all<T>(c, {constant}, "constant_values") || !c.require_constant(*constant, "constant_values") ||
          !c.quant(*constant, "constant_values", qc)) return;
      if (constant->shape.element_count() != 1) return void(c.fail("constant_values must hold one value"));
      T value;
      std::memcpy(&value, constant->constant, sizeof(T));
      p = qkern::prepare_padv2<T>(qi, in.shape, paddings.data(), in.shape.rank, qo, value, qc);
    } else {
      p = qkern::prepare_pad<T>(qi, in.shape, paddings.data(), in.shape.rank, qo);
    }
    if (!p.ok()) return void(c.fail(p.error()));
    if (!c.expect_output_shape(out, p->output)) return;
    std::string list;
    for (std::size_t k = 0; k < paddings.size(); k += 2) {
      list += (k ? "," : "") + std::to_string(paddings[k]) + ":" + std::to_string(paddings[k + 1]);
    }
    c.l.kernel = std::string(v2 ? "padv2<" : "pad<") + detail::type_name<T>() + "> {" + list + "}";
    const detail::operand a = c.operand(in), y = c.operand(out);
    const bool scalar = options_.scalar;
    c.l.eval = [p = *p, a, y, scalar](std::byte* arena) {
      if (scalar) qkern::scalar::pad(p, a.in<T>(arena), y.out<T>(arena));
      else qkern::pad(p, a.in<T>(arena), y.out<T>(arena));
    };
  }

  template <class T>
  void map_transpose(op_context& c) {
    if (!c.require_counts(2, 2, 1)) return;
    const tensor_info& in = *c.input(0);
    const tensor_info& perm_tensor = *c.input(1);
    const tensor_info& out = *c.output(0);
    if (!require_all<T>(c, {&in, &out}, "activation")) return;
    std::vector<std::int32_t> perm;
    if (!c.const_ints(perm_tensor, "perm", perm)) return;
    qkern::quantization_params qi, qo;
    if (!c.quant(in, "input", qi) || !c.quant(out, "output", qo)) return;
    const auto p = qkern::prepare_transpose<T>(qi, in.shape, perm.data(), static_cast<int>(perm.size()), qo);
    if (!p.ok()) return void(c.fail(p.error()));
    if (!c.expect_output_shape(out, p->output)) return;
    std::string list;
    for (std::int32_t v : perm) list += (list.empty() ? "" : ",") + std::to_string(v);
    c.l.kernel = std::string("transpose<") + detail::type_name<T>() + "> {" + list + "}";
    const detail::operand a = c.operand(in), y = c.operand(out);
    const bool scalar = options_.scalar;
    c.l.eval = [p = *p, a, y, scalar](std::byte* arena) {
      if (scalar) qkern::scalar::transpose(p, a.in<T>(arena), y.out<T>(arena));
      else qkern::transpose(p, a.in<T>(arena), y.out<T>(arena));
    };
  }

  template <class T, class Policy>
  void map_concatenation(op_context& c) {
    const std::size_t n = c.input_count();
    if (n < 1 || n > static_cast<std::size_t>(qkern::max_concatenation_inputs)) {
      return void(c.fail("has " + std::to_string(n) + " inputs; qkern concatenates 1 to " +
                         std::to_string(qkern::max_concatenation_inputs)));
    }
    if (!c.require_counts(n, n, 1) || !c.expect_options(tfl::options_type::concatenation, "ConcatenationOptions")) return;
    const tensor_info& out = *c.output(0);
    tfl::options_reader r(*model_, c.o);
    const std::int32_t axis = r.i32(0);
    const auto act = static_cast<tfl::activation_type>(r.i8(1));
    if (!c.options_ok(r)) return;
    if (act != tfl::activation_type::none) return void(c.fail("a fused activation on CONCATENATION is not supported"));
    qkern::shape shapes[qkern::max_concatenation_inputs];
    qkern::quantization_params quants[qkern::max_concatenation_inputs];
    detail::operand sources[qkern::max_concatenation_inputs];
    for (std::size_t i = 0; i < n; ++i) {
      const tensor_info& in = *c.input(i);
      if (!require_all<T>(c, {&in}, "input") || !c.quant(in, "input", quants[i])) return;
      shapes[i] = in.shape;
      sources[i] = c.operand(in);
    }
    require_all<T>(c, {&out}, "output");
    qkern::quantization_params qo;
    if (!c.l.error.empty() || !c.quant(out, "output", qo)) return;
    const auto p = qkern::prepare_concatenation<T, Policy>(quants, shapes, static_cast<int>(n), qo, axis);
    if (!p.ok()) return void(c.fail(p.error()));
    if (!c.expect_output_shape(out, p->output)) return;
    c.l.kernel = std::string("concatenation<") + detail::type_name<T>() + "> " + std::to_string(n) + " inputs, axis " +
                 std::to_string(axis);
    const detail::operand y = c.operand(out);
    const bool scalar = options_.scalar;
    std::array<detail::operand, qkern::max_concatenation_inputs> ops{};
    for (std::size_t i = 0; i < n; ++i) ops[i] = sources[i];
    c.l.eval = [p = *p, ops, n, y, scalar](std::byte* arena) {
      const T* inputs[qkern::max_concatenation_inputs] = {};
      for (std::size_t i = 0; i < n; ++i) inputs[i] = ops[i].in<T>(arena);
      if (scalar) qkern::scalar::concatenation(p, inputs, y.out<T>(arena));
      else qkern::concatenation(p, inputs, y.out<T>(arena));
    };
  }

  template <class Policy>
  void map_quantize(op_context& c) {
    if (!c.require_counts(1, 1, 1)) return;
    const tensor_info& in = *c.input(0);
    const tensor_info& out = *c.output(0);
    if (!c.expect_output_count(out, in.shape)) return;
    qkern::quantization_params qo;
    if (!c.quant(out, "output", qo)) return;
    const detail::operand a = c.operand(in), y = c.operand(out);
    const bool scalar = options_.scalar;
    using tt = tfl::tensor_type;
    if (in.type() == tt::float32) {
      const auto run = [&](auto tag) {
        using Out = decltype(tag);
        const auto p = qkern::prepare_quantize<Out>(qo, in.shape);
        if (!p.ok()) return void(c.fail(p.error()));
        c.l.kernel = std::string("quantize<float32->") + detail::type_name<Out>() + ">";
        c.l.eval = [p = *p, a, y, scalar](std::byte* arena) {
          if (scalar) qkern::scalar::quantize(p, a.in<float>(arena), y.out<Out>(arena));
          else qkern::quantize(p, a.in<float>(arena), y.out<Out>(arena));
        };
      };
      if (out.type() == tt::int8) run(std::int8_t{});
      else if (out.type() == tt::int16) run(std::int16_t{});
      else c.fail(std::string("quantize float32 -> ") + tfl::tensor_type_name(out.type()) + " is not supported");
      return;
    }
    qkern::quantization_params qi;
    if (!c.quant(in, "input", qi)) return;
    const auto run = [&](auto in_tag, auto out_tag) {
      using In = decltype(in_tag);
      using Out = decltype(out_tag);
      const auto p = qkern::prepare_requantize<In, Out, Policy>(qi, qo, in.shape);
      if (!p.ok()) return void(c.fail(p.error()));
      c.l.kernel = std::string("requantize<") + detail::type_name<In>() + "->" + detail::type_name<Out>() + ">";
      c.l.eval = [p = *p, a, y, scalar](std::byte* arena) {
        if (scalar) qkern::scalar::requantize(p, a.in<In>(arena), y.out<Out>(arena));
        else qkern::requantize(p, a.in<In>(arena), y.out<Out>(arena));
      };
    };
    if (in.type() == tt::int8 && out.type() == tt::int8) run(std::int8_t{}, std::int8_t{});
    else if (in.type() == tt::int8 && out.type() == tt::int16) run(std::int8_t{}, std::int16_t{});
    else if (in.type() == tt::int8 && out.type() == tt::uint8) run(std::int8_t{}, std::uint8_t{});
    else if (in.type() == tt::uint8 && out.type() == tt::int8) run(std::uint8_t{}, std::int8_t{});
    else if (in.type() == tt::int16 && out.type() == tt::int8) run(std::int16_t{}, std::int8_t{});
    else if (in.type() == tt::int16 && out.type() == tt::int16) run(std::int16_t{}, std::int16_t{});
    else c.fail(std::string("quantize ") + tfl::tensor_type_name(in.type()) + " -> " + tfl::tensor_type_name(out.type()) +
                " is not supported");
  }

  void map_dequantize(op_context& c) {
    if (!c.require_counts(1, 1, 1)) return;
    const tensor_info& in = *c.input(0);
    const tensor_info& out = *c.output(0);
    if (!c.require_type(out, tfl::tensor_type::float32, "output") || !c.expect_output_count(out, in.shape)) return;
    qkern::quantization_params qi;
    if (!c.quant(in, "input", qi)) return;
    const detail::operand a = c.operand(in), y = c.operand(out);
    const bool scalar = options_.scalar;
    const auto run = [&](auto tag) {
      using In = decltype(tag);
      const auto p = qkern::prepare_dequantize<In>(qi, in.shape);
      if (!p.ok()) return void(c.fail(p.error()));
      c.l.kernel = std::string("dequantize<") + detail::type_name<In>() + "->float32>";
      c.l.eval = [p = *p, a, y, scalar](std::byte* arena) {
        if (scalar) qkern::scalar::dequantize(p, a.in<In>(arena), y.out<float>(arena));
        else qkern::dequantize(p, a.in<In>(arena), y.out<float>(arena));
      };
    };
    if (in.type() == tfl::tensor_type::int8) run(std::int8_t{});
    else if (in.type() == tfl::tensor_type::int16) run(std::int16_t{});
    else c.fail(std::string("dequantize from ") + tfl::tensor_type_name(in.type()) + " is not supported");
  }

  const tfl::model* model_ = nullptr;
  build_options options_{};
  std::vector<tensor_info> tensors_;
  std::vector<layer> layers_;
  std::deque<std::vector<std::uint64_t>> owned_;  // aligned copies of wide constants
  std::vector<std::byte> arena_;
  std::size_t arena_bytes_ = 0;
  std::size_t unshared_bytes_ = 0;
  std::string error_;
  std::vector<std::string> notes_;
};

}  // namespace qkern_run
