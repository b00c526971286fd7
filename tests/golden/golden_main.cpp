// qkern_golden: runs every *.jsonl case file of a golden folder through qkern and prints one
// line per op and rounding mode: "golden <op> <mode>: N passed, M failed" (or ": skipped"
// for an op qkern does not implement yet). Exits 1 on any failure.
//
// Folder: the first argument, else $QKERN_GOLDEN_DIR, else the build's default.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "golden.hpp"

namespace fs = std::filesystem;
using qkern_golden::json;

namespace qkern_golden {
std::vector<op_entry>& registry() {
  static std::vector<op_entry> entries;
  return entries;
}
}  // namespace qkern_golden

namespace {

constexpr int max_failures_shown = 5;

struct file_name_parts {
  std::string op;
  std::string mode;
};

// "<op>.<mode>.jsonl" -> {op, mode}; empty op if the name has another form.
file_name_parts split_name(const fs::path& path) {
  const std::string stem = path.stem().string();  // "<op>.<mode>"
  const auto dot = stem.rfind('.');
  if (dot == std::string::npos) return {};
  return {stem.substr(0, dot), stem.substr(dot + 1)};
}

const qkern_golden::op_entry* find_op(const std::string& name) {
  for (const auto& e : qkern_golden::registry()) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path folder = QKERN_DEFAULT_GOLDEN_DIR;
  if (argc > 1) {
    folder = argv[1];
  } else if (const char* env = std::getenv("QKERN_GOLDEN_DIR"); env != nullptr && *env != '\0') {
    folder = env;
  }
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) {
    std::fprintf(stderr, "qkern_golden: %s is not a folder\n", folder.string().c_str());
    return 2;
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.path().extension() == ".jsonl") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::fprintf(stderr, "qkern_golden: no *.jsonl files in %s\n", folder.string().c_str());
    return 2;
  }

  long total_passed = 0, total_failed = 0, skipped_files = 0;
  for (const auto& path : files) {
    const auto [op, mode] = split_name(path);
    const auto* entry = find_op(op);
    qkern_golden::op_function run = nullptr;
    if (entry != nullptr && mode == "double") run = entry->double_mode;
    if (entry != nullptr && mode == "single") run = entry->single_mode;
    if (run == nullptr) {
      std::printf("golden %s %s: skipped\n", op.c_str(), mode.c_str());
      ++skipped_files;
      continue;
    }
    std::ifstream in(path);
    std::string line;
    long passed = 0, failed = 0, line_number = 0;
    while (std::getline(in, line)) {
      ++line_number;
      if (line.empty()) continue;
      qkern_golden::case_checker check;
      std::string id = path.filename().string() + ":" + std::to_string(line_number);
      try {
        const json c = json::parse(line);
        id = c.value("id", id);
        run(c, check);
      } catch (const std::exception& e) {
        check.expect<std::string>("case", "a readable case", std::string("error: ") + e.what());
      }
      if (check.failed()) {
        if (failed < max_failures_shown) std::printf("  FAIL %s: %s\n", id.c_str(), check.failure().c_str());
        ++failed;
      } else {
        ++passed;
      }
    }
    std::printf("golden %s %s: %ld passed, %ld failed\n", op.c_str(), mode.c_str(), passed, failed);
    total_passed += passed;
    total_failed += failed;
  }
  std::printf("golden files skipped: %ld of %zu\n", skipped_files, files.size());
  std::printf("golden: %ld passed, %ld failed\n", total_passed, total_failed);
  return total_failed == 0 ? 0 : 1;
}
