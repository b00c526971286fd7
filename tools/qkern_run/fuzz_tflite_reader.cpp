// libFuzzer target for qkern_run's .tflite reader and everything downstream of it that a file
// controls: parse, read back every view the reader handed out, map the graph onto qkern (every
// prepare step), write the --inspect audit, and, for small graphs, run them.
//
// Built and run by scripts/fuzz_reader.sh (clang++ -fsanitize=fuzzer,address,undefined). With
// QKERN_FUZZ_REPLAY_MAIN=1 it is a plain program that feeds files (or every file of the folders)
// given on its command line through the same function, for replaying a corpus or a crash
// without libFuzzer.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "inspect.hpp"
#include "network.hpp"
#include "tflite_reader.hpp"

namespace {

namespace tfl = qkern_run::tfl;

// Reads every byte the reader's views cover, so that a view outside the input trips ASan.
std::uint64_t touch(const tfl::model& m) {
  std::uint64_t sum = 0;
  for (const tfl::buffer& b : m.buffers) {
    if (b.data != nullptr && b.size > 0) sum += b.data[0] + b.data[b.size - 1];
  }
  for (const tfl::operator_code& c : m.operator_codes) sum += c.custom_code.size() ? static_cast<unsigned char>(c.custom_code.back()) : 0;
  for (const tfl::subgraph& g : m.subgraphs) {
    for (const tfl::tensor& t : g.tensors) {
      if (!t.name.empty()) sum += static_cast<unsigned char>(t.name.back());
      const tfl::quantization& q = t.q;
      if (!q.scale.empty()) sum += static_cast<std::uint64_t>(q.scale[q.scale.size() - 1] != 0.0f);
      if (!q.zero_point.empty()) sum += static_cast<std::uint64_t>(q.zero_point[q.zero_point.size() - 1]);
      if (!q.min.empty()) sum += static_cast<std::uint64_t>(q.min[q.min.size() - 1] != 0.0f);
      if (!q.max.empty()) sum += static_cast<std::uint64_t>(q.max[q.max.size() - 1] != 0.0f);
    }
  }
  return sum;
}

// A rough count of multiply-adds, to run only graphs that take microseconds.
std::uint64_t estimated_work(const tfl::model& m, const qkern_run::network& net) {
  std::uint64_t work = 0;
  for (const tfl::operator_& o : m.subgraphs[0].operators) {
    std::uint64_t out = 0, widest_constant = 1;
    for (std::int32_t i : o.outputs) out += net.tensor(static_cast<std::size_t>(i)).bytes;
    for (std::int32_t i : o.inputs) {
      if (i < 0) continue;
      const qkern_run::tensor_info& t = net.tensor(static_cast<std::size_t>(i));
      if (t.is_constant() && t.bytes > widest_constant) widest_constant = t.bytes;
    }
    work += out * widest_constant;
  }
  return work;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tfl::model m;
  std::string error;
  if (!tfl::parse_model(data, size, m, error)) {
    if (error.empty()) __builtin_trap();  // every rejection must say why
    return 0;
  }
  volatile std::uint64_t sink = touch(m);
  (void)sink;

  qkern_run::network net;
  qkern_run::build_options options;
  options.max_arena_bytes = std::size_t{16} << 20;
  const bool built = net.build(m, options);
  std::ostringstream audit;
  qkern_run::inspect_model(m, net, "fuzz", audit);
  if (built && net.arena_bytes() <= (std::size_t{1} << 20) && estimated_work(m, net) <= 20'000'000) {
    net.allocate();
    for (std::size_t i = 0; i < net.layers().size(); ++i) net.run_layer(i);
  }
  return 0;
}

#if defined(QKERN_FUZZ_REPLAY_MAIN) && QKERN_FUZZ_REPLAY_MAIN
#include <filesystem>
#include <fstream>

int main(int argc, char** argv) {
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::directory_iterator(p)) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
    } else {
      files.push_back(p);
    }
  }
  std::size_t count = 0;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cannot open %s\n", f.string().c_str());
      return 1;
    }
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::uint8_t> exact(bytes.begin(), bytes.end());  // exactly sized, as libFuzzer passes it
    LLVMFuzzerTestOneInput(exact.data(), exact.size());
    ++count;
  }
  std::printf("replayed %zu inputs\n", count);
  return 0;
}
#endif
