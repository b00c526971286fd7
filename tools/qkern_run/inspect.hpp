// qkern_run --inspect: an audit of a .tflite model without running it. Lists every operator
// with its tensors' dtypes and quantization, then flags what stands between the model and an
// integer-only deployment on qkern: float or hybrid layers, QUANTIZE/DEQUANTIZE left inside the
// graph, quantized tensors without parameters, and operators qkern cannot run (with the reason
// the mapping or qkern's prepare step gave).
#pragma once

#include <cstdint>
#include <cstdio>
#include <ostream>
#include <string>
#include <vector>

#include "network.hpp"
#include "tflite_reader.hpp"

namespace qkern_run {

struct audit_result {
  bool fully_integer = true;  // no float or hybrid op, no quantize/dequantize inside the graph
  bool fully_int8 = true;     // fully integer, and every activation is int8
  bool all_supported = true;  // every operator prepares on qkern
  std::size_t findings = 0;   // flagged items
  bool clean() const noexcept { return fully_integer && all_supported && findings == 0; }
};

namespace detail {

inline std::string format_float(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

inline bool is_quantized_int(tfl::tensor_type t) {
  return t == tfl::tensor_type::int8 || t == tfl::tensor_type::uint8 || t == tfl::tensor_type::int16 ||
         t == tfl::tensor_type::int4;
}

inline std::string describe_quantization(const tfl::tensor& t) {
  const tfl::quantization& q = t.q;
  if (!q.present || (q.scale.empty() && q.zero_point.empty())) return "not quantized";
  if (q.details_type != 0) return "custom quantization (details type " + std::to_string(q.details_type) + ")";
  if (q.scale.empty()) return "zero point without scale";
  std::string zp;
  bool same_zero_point = true;
  for (std::size_t i = 1; i < q.zero_point.size(); ++i) same_zero_point = same_zero_point && q.zero_point[i] == q.zero_point[0];
  if (q.zero_point.empty()) zp = "zp=(none)";
  else if (same_zero_point) zp = "zp=" + std::to_string(q.zero_point[0]);
  else zp = "zp=" + std::to_string(q.zero_point.size()) + " values";
  if (q.scale.size() == 1) return "per-tensor s=" + format_float(q.scale[0]) + " " + zp;
  float lo = q.scale[0], hi = q.scale[0];
  for (std::size_t i = 1; i < q.scale.size(); ++i) {
    lo = q.scale[i] < lo ? q.scale[i] : lo;
    hi = q.scale[i] > hi ? q.scale[i] : hi;
  }
  std::string s = "per-channel x" + std::to_string(q.scale.size()) + " along dim " + std::to_string(q.quantized_dimension);
  if (q.quantized_dimension < 0 || static_cast<std::size_t>(q.quantized_dimension) >= t.shape.size()) {
    s += " (out of range for rank " + std::to_string(t.shape.size()) + ")";
  }
  return s + " s=[" + format_float(lo) + " .. " + format_float(hi) + "] " + zp;
}

inline std::string printable(std::string_view s, std::size_t limit = 48) {
  std::string out;
  for (char c : s.substr(0, limit)) out += (c >= 32 && c < 127) ? c : '?';
  if (s.size() > limit) out += "...";
  return out;
}

}  // namespace detail

// Writes the audit of subgraph 0 to `out`. `net` must have been built from `m` (build may have
// failed: its per-layer errors are what "cannot run" reports).
inline audit_result inspect_model(const tfl::model& m, const network& net, const std::string& label, std::ostream& out) {
  audit_result result;
  const tfl::subgraph& g = m.subgraphs[0];
  out << "model: " << label << " (" << m.size << " bytes), schema version " << m.version << ", " << m.subgraphs.size()
      << " subgraph(s), " << g.operators.size() << " operators and " << g.tensors.size() << " tensors in subgraph 0\n";
  if (!m.description.empty()) out << "description: " << detail::printable(m.description, 80) << "\n";

  const auto tensor_line = [&](std::int32_t index) {
    const tfl::tensor& t = g.tensors[static_cast<std::size_t>(index)];
    const tensor_info& info = net.tensor(static_cast<std::size_t>(index));
    std::string s = "t" + std::to_string(index) + " " + tfl::tensor_type_name(t.type) + shape_string(t.shape);
    if (info.is_constant()) s += " const";
    if (info.graph_input) s += " (graph input)";
    if (info.graph_output) s += " (graph output)";
    return s + " " + detail::describe_quantization(t);
  };
  out << "inputs:\n";
  for (std::int32_t i : g.inputs) out << "  " << tensor_line(i) << "\n";
  out << "outputs:\n";
  for (std::int32_t i : g.outputs) out << "  " << tensor_line(i) << "\n";

  // Who consumes each tensor, for the quantize/dequantize placement check.
  std::vector<int> readers(g.tensors.size(), 0);
  for (const tfl::operator_& o : g.operators) {
    for (std::int32_t i : o.inputs) {
      if (i >= 0) ++readers[static_cast<std::size_t>(i)];
    }
  }

  std::vector<std::string> float_layers, conversions_inside, missing_quantization, unsupported, not_int8;
  // Per-channel parameters along an axis the tensor does not have (TOCO's biases in person_detect):
  // TFLite Micro ignores them on biases, full TFLite rejects the model.
  std::vector<std::string> odd_quantized_dimension;
  std::size_t dynamic = 0;  // tensors whose shape_signature has a -1 (a dynamic extent)
  for (std::size_t i = 0; i < g.tensors.size(); ++i) {
    const tfl::tensor& t = g.tensors[i];
    for (std::int32_t d : t.shape_signature) {
      if (d < 0) {
        ++dynamic;
        break;
      }
    }
    if (t.q.per_channel() &&
        (t.q.quantized_dimension < 0 || static_cast<std::size_t>(t.q.quantized_dimension) >= t.shape.size())) {
      odd_quantized_dimension.push_back("t" + std::to_string(i));
    }
  }
  std::size_t boundary_conversions = 0;
  out << "operators:\n";
  for (std::size_t i = 0; i < g.operators.size(); ++i) {
    const tfl::operator_& o = g.operators[i];
    const layer& l = net.layers()[i];
    const std::string tag = "op " + std::to_string(i) + " " + l.name;
    out << "  op " << i << " " << l.name << " v" << l.version << "\n";
    bool has_float = false, has_quantized = false;
    bool activation_not_int8 = false;
    for (std::size_t k = 0; k < o.inputs.size(); ++k) {
      if (o.inputs[k] < 0) {
        out << "      in  (omitted)\n";
        continue;
      }
      out << "      in  " << tensor_line(o.inputs[k]) << "\n";
    }
    for (std::int32_t index : o.outputs) out << "      out " << tensor_line(index) << "\n";
    const auto visit = [&](std::int32_t index) {
      if (index < 0) return;
      const tfl::tensor& t = g.tensors[static_cast<std::size_t>(index)];
      const tensor_info& info = net.tensor(static_cast<std::size_t>(index));
      if (tfl::is_float_type(t.type)) has_float = true;
      if (detail::is_quantized_int(t.type)) {
        has_quantized = true;
        if (!t.q.is_affine()) {
          missing_quantization.push_back(tag + ": t" + std::to_string(index) + " is " + tfl::tensor_type_name(t.type) +
                                         " without a scale");
        }
      }
      if (!info.is_constant() && t.type != tfl::tensor_type::int8) activation_not_int8 = true;
    };
    for (std::int32_t index : o.inputs) visit(index);
    for (std::int32_t index : o.outputs) visit(index);

    std::vector<std::string> flags;
    const bool conversion = l.builtin == tfl::op::quantize || l.builtin == tfl::op::dequantize;
    if (conversion && has_float) {
      // QUANTIZE at the graph's entry and DEQUANTIZE at its exit are an integer model's float
      // interface; anywhere else they split the graph into float and integer parts.
      bool at_boundary = false;
      if (l.builtin == tfl::op::quantize && !o.inputs.empty() && o.inputs[0] >= 0) {
        at_boundary = net.tensor(static_cast<std::size_t>(o.inputs[0])).graph_input;
      }
      if (l.builtin == tfl::op::dequantize && !o.outputs.empty()) {
        const std::size_t y = static_cast<std::size_t>(o.outputs[0]);
        at_boundary = net.tensor(y).graph_output && readers[y] == 0;
      }
      if (at_boundary) {
        ++boundary_conversions;
        flags.push_back("float interface (" + std::string(l.builtin == tfl::op::quantize ? "input" : "output") + ")");
      } else {
        flags.push_back("QUANTIZE/DEQUANTIZE inside the graph");
        conversions_inside.push_back(tag);
      }
    } else if (has_float && has_quantized) {
      flags.push_back("HYBRID: float and quantized integer tensors");
      float_layers.push_back(tag + " (hybrid)");
    } else if (has_float) {
      flags.push_back("FLOAT layer");
      float_layers.push_back(tag + " (float)");
    }
    if (activation_not_int8 && !conversion) not_int8.push_back(tag);
    if (!l.error.empty()) {
      flags.push_back("qkern cannot run it: " + l.error);
      unsupported.push_back(tag + ": " + l.error);
    }
    if (!l.kernel.empty()) out << "      qkern: " << l.kernel << "\n";
    for (const std::string& f : flags) out << "      !! " << f << "\n";
  }

  result.fully_integer = float_layers.empty() && conversions_inside.empty();
  result.fully_int8 = result.fully_integer && not_int8.empty() && boundary_conversions == 0;
  result.all_supported = unsupported.empty() && net.error().empty();
  result.findings = float_layers.size() + conversions_inside.size() + missing_quantization.size() + unsupported.size();

  const auto list = [&](const char* title, const std::vector<std::string>& items) {
    out << "  " << title << ": " << (items.empty() ? "none" : std::to_string(items.size())) << "\n";
    for (const std::string& s : items) out << "    - " << s << "\n";
  };
  out << "audit:\n";
  list("float or hybrid layers", float_layers);
  list("QUANTIZE/DEQUANTIZE inside the graph", conversions_inside);
  list("quantized tensors without parameters", missing_quantization);
  list("operators qkern cannot run", unsupported);
  if (!net.error().empty() && unsupported.empty()) out << "  model: " << net.error() << "\n";
  for (const std::string& note : net.notes()) out << "  note: " << note << "\n";
  if (boundary_conversions > 0) out << "  float interface: " << boundary_conversions << " QUANTIZE/DEQUANTIZE at the graph's edges\n";
  if (!not_int8.empty()) out << "  layers with non-int8 activations: " << not_int8.size() << "\n";
  if (dynamic > 0) {
    out << "  note: " << dynamic << " tensor(s) have a dynamic extent (-1) in their shape_signature: qkern_run uses "
        << "the stored shape\n";
  }
  if (!odd_quantized_dimension.empty()) {
    out << "  note: " << odd_quantized_dimension.size()
        << " tensor(s) have per-channel parameters along a dimension they do not have (";
    for (std::size_t i = 0; i < odd_quantized_dimension.size() && i < 6; ++i) out << (i ? " " : "") << odd_quantized_dimension[i];
    out << (odd_quantized_dimension.size() > 6 ? " ..." : "")
        << "): TFLite Micro and qkern ignore a bias's parameters, full TFLite rejects such a model\n";
  }

  std::string verdict;
  if (result.fully_int8) verdict = "fully int8";
  else if (result.fully_integer) verdict = "fully integer (not all int8)";
  else verdict = "NOT fully integer";
  verdict += result.all_supported ? "; every operator runs on qkern" : "; some operators cannot run on qkern";
  out << "verdict: " << verdict << "\n";
  return result;
}

}  // namespace qkern_run
