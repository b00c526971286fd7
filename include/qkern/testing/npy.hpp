// npy: a small, bounds-checked reader and writer of NumPy .npy files for integer tensors.
//
// Reads format versions 1.0, 2.0 and 3.0 (the header is a Python dict literal with 'descr',
// 'fortran_order' and 'shape'), C order only, dtypes '|i1' (int8), '|u1' (uint8), '<i2' (int16)
// and '<i4' (int32, for biases). Every offset is checked against the buffer, the shape against
// qkern's rank limit (6) and the data size against the shape, and each failure says what is wrong
// ("dtype '<f4' is not supported ...") rather than crashing. Writes version 1.0 files.
//
//   auto a = qkern::testing::load_npy("observed.npy");
//   if (!a) { std::fprintf(stderr, "%s\n", a.error().c_str()); return 1; }
//   std::vector<std::int8_t> values = a->values<std::int8_t>();   // a->tensor_shape is its shape
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "qkern/core/shape.hpp"

namespace qkern {
namespace testing {

// A value or a message saying why there is none (host-side helpers that need formatted text).
template <class T>
class checked {
 public:
  checked(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  static checked failure(std::string message) {
    checked c;
    c.error_ = std::move(message);
    return c;
  }
  bool ok() const noexcept { return value_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  const std::string& error() const noexcept { return error_; }
  const T& value() const { return *value_; }
  T& value() { return *value_; }
  const T& operator*() const { return *value_; }
  const T* operator->() const { return &*value_; }
  T* operator->() { return &*value_; }

 private:
  checked() = default;
  std::optional<T> value_;
  std::string error_;
};

enum class npy_dtype : std::uint8_t { int8, uint8, int16, int32 };

inline const char* npy_dtype_name(npy_dtype t) noexcept {
  switch (t) {
    case npy_dtype::int8: return "int8";
    case npy_dtype::uint8: return "uint8";
    case npy_dtype::int16: return "int16";
    case npy_dtype::int32: return "int32";
  }
  return "unknown";
}

inline std::size_t npy_item_size(npy_dtype t) noexcept {
  switch (t) {
    case npy_dtype::int8:
    case npy_dtype::uint8: return 1;
    case npy_dtype::int16: return 2;
    case npy_dtype::int32: return 4;
  }
  return 1;
}

template <class T>
constexpr npy_dtype npy_dtype_of() noexcept {
  static_assert(std::is_same<T, std::int8_t>::value || std::is_same<T, std::uint8_t>::value ||
                    std::is_same<T, std::int16_t>::value || std::is_same<T, std::int32_t>::value,
                "npy tensors are int8, uint8, int16 or int32");
  if (std::is_same<T, std::int8_t>::value) return npy_dtype::int8;
  if (std::is_same<T, std::uint8_t>::value) return npy_dtype::uint8;
  if (std::is_same<T, std::int16_t>::value) return npy_dtype::int16;
  return npy_dtype::int32;
}

// Decodes `count` little-endian values of T from bytes (independent of the host's byte order).
template <class T>
std::vector<T> decode_little_endian(const unsigned char* bytes, std::size_t count) {
  std::vector<T> out(count);
  using U = std::make_unsigned_t<T>;
  for (std::size_t i = 0; i < count; ++i) {
    U v = 0;
    for (std::size_t b = 0; b < sizeof(T); ++b) v = static_cast<U>(v | static_cast<U>(bytes[i * sizeof(T) + b]) << (8 * b));
    out[i] = static_cast<T>(v);
  }
  return out;
}

// Encodes values of T little-endian.
template <class T>
std::vector<unsigned char> encode_little_endian(const T* values, std::size_t count) {
  std::vector<unsigned char> out(count * sizeof(T));
  using U = std::make_unsigned_t<T>;
  for (std::size_t i = 0; i < count; ++i) {
    const U v = static_cast<U>(values[i]);
    for (std::size_t b = 0; b < sizeof(T); ++b) out[i * sizeof(T) + b] = static_cast<unsigned char>(v >> (8 * b));
  }
  return out;
}

struct npy_array {
  npy_dtype dtype = npy_dtype::int8;
  shape tensor_shape{};
  std::vector<unsigned char> bytes;  // element_count · item size, little-endian, C order

  std::size_t element_count() const noexcept { return static_cast<std::size_t>(tensor_shape.element_count()); }

  // The values as T. Precondition: dtype == npy_dtype_of<T>() (else an empty vector).
  template <class T>
  std::vector<T> values() const {
    if (dtype != npy_dtype_of<T>()) return {};
    return decode_little_endian<T>(bytes.data(), element_count());
  }
};

namespace detail {

// A cursor over the header text; every read is bounds-checked.
class npy_header_parser {
 public:
  npy_header_parser(const char* text, std::size_t size) : text_(text), size_(size) {}

  void skip_spaces() {
    while (pos_ < size_ && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) ++pos_;
  }
  bool at_end() {
    skip_spaces();
    return pos_ >= size_;
  }
  bool take(char c) {
    skip_spaces();
    if (pos_ < size_ && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool peek(char c) {
    skip_spaces();
    return pos_ < size_ && text_[pos_] == c;
  }
  // A Python string literal in single or double quotes (no escapes needed for npy headers).
  bool string(std::string& out) {
    skip_spaces();
    if (pos_ >= size_ || (text_[pos_] != '\'' && text_[pos_] != '"')) return false;
    const char quote = text_[pos_++];
    out.clear();
    while (pos_ < size_ && text_[pos_] != quote) {
      if (text_[pos_] == '\\' || out.size() > 64) return false;
      out += text_[pos_++];
    }
    if (pos_ >= size_) return false;
    ++pos_;
    return true;
  }
  // An identifier such as True or False.
  std::string word() {
    skip_spaces();
    std::string out;
    while (pos_ < size_ && out.size() < 16 &&
           ((text_[pos_] >= 'A' && text_[pos_] <= 'Z') || (text_[pos_] >= 'a' && text_[pos_] <= 'z'))) {
      out += text_[pos_++];
    }
    return out;
  }
  // A non-negative integer at most INT32_MAX (Python 2's 'L' suffix is accepted).
  bool extent(std::int32_t& out) {
    skip_spaces();
    if (pos_ >= size_ || text_[pos_] < '0' || text_[pos_] > '9') return false;
    std::int64_t v = 0;
    while (pos_ < size_ && text_[pos_] >= '0' && text_[pos_] <= '9') {
      v = v * 10 + (text_[pos_++] - '0');
      if (v > INT32_MAX) return false;
    }
    if (pos_ < size_ && text_[pos_] == 'L') ++pos_;
    out = static_cast<std::int32_t>(v);
    return true;
  }

 private:
  const char* text_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

inline bool parse_npy_descr(const std::string& descr, npy_dtype& out) {
  if (descr.size() != 3) return false;
  const char order = descr[0];
  const std::string type = descr.substr(1);
  const bool any_order = order == '|' || order == '<' || order == '>' || order == '=';
  if (type == "i1" && any_order) {
    out = npy_dtype::int8;
  } else if (type == "u1" && any_order) {
    out = npy_dtype::uint8;
  } else if (type == "i2" && order == '<') {
    out = npy_dtype::int16;
  } else if (type == "i4" && order == '<') {
    out = npy_dtype::int32;
  } else {
    return false;
  }
  return true;
}

}  // namespace detail

// Parses a whole .npy file held in memory.
inline checked<npy_array> parse_npy(const unsigned char* data, std::size_t size) {
  using result_type = checked<npy_array>;
  static constexpr unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (data == nullptr || size < 10) {
    return result_type::failure("not a .npy file: " + std::to_string(size) + " bytes, shorter than the 10-byte preamble");
  }
  if (std::memcmp(data, magic, sizeof magic) != 0) return result_type::failure("not a .npy file: bad magic string");
  const unsigned major = data[6];
  const unsigned minor = data[7];
  std::size_t header_length = 0;
  std::size_t header_start = 0;
  if (major == 1) {
    header_length = static_cast<std::size_t>(data[8]) | static_cast<std::size_t>(data[9]) << 8;
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) return result_type::failure("truncated .npy file: the version 2 preamble needs 12 bytes");
    header_length = static_cast<std::size_t>(data[8]) | static_cast<std::size_t>(data[9]) << 8 |
                    static_cast<std::size_t>(data[10]) << 16 | static_cast<std::size_t>(data[11]) << 24;
    header_start = 12;
  } else {
    return result_type::failure("unsupported .npy format version " + std::to_string(major) + "." +
                                std::to_string(minor) + " (1.0, 2.0 and 3.0 are read)");
  }
  if (header_length > size - header_start) {
    return result_type::failure("truncated .npy file: the header declares " + std::to_string(header_length) +
                                " bytes, the file has " + std::to_string(size - header_start) + " after the preamble");
  }

  detail::npy_header_parser parser(reinterpret_cast<const char*>(data + header_start), header_length);
  const auto bad_header = [](const std::string& what) { return result_type::failure("malformed .npy header: " + what); };
  if (!parser.take('{')) return bad_header("it does not start with '{'");
  std::string descr;
  std::optional<bool> fortran_order;
  std::optional<shape> tensor_shape;
  bool have_descr = false;
  while (!parser.take('}')) {
    std::string key;
    if (!parser.string(key)) return bad_header("expected a quoted key or '}'");
    if (!parser.take(':')) return bad_header("expected ':' after '" + key + "'");
    if (key == "descr") {
      if (!parser.string(descr)) return bad_header("'descr' is not a string (structured dtypes are not supported)");
      have_descr = true;
    } else if (key == "fortran_order") {
      const std::string w = parser.word();
      if (w != "True" && w != "False") return bad_header("'fortran_order' is neither True nor False");
      fortran_order = w == "True";
    } else if (key == "shape") {
      if (!parser.take('(')) return bad_header("'shape' is not a tuple");
      shape s;
      while (!parser.take(')')) {
        if (s.rank == max_rank) return result_type::failure("the .npy shape has more than 6 dimensions");
        std::int32_t extent = 0;
        if (!parser.extent(extent)) return bad_header("a 'shape' extent is not a non-negative integer below 2^31");
        s.dims[s.rank++] = extent;
        if (!parser.take(',') && !parser.peek(')')) return bad_header("expected ',' or ')' in 'shape'");
      }
      tensor_shape = s;
    } else {
      return bad_header("unknown key '" + key + "'");
    }
    if (!parser.take(',') && !parser.peek('}')) return bad_header("expected ',' or '}' after '" + key + "'");
  }
  if (!parser.at_end()) return bad_header("text after the closing '}'");
  if (!have_descr || !fortran_order || !tensor_shape) {
    return bad_header("it lacks one of 'descr', 'fortran_order' and 'shape'");
  }
  npy_array a;
  if (!detail::parse_npy_descr(descr, a.dtype)) {
    return result_type::failure("dtype '" + descr +
                                "' is not supported (int8 '|i1', uint8 '|u1', little-endian int16 '<i2' and int32 '<i4' are)");
  }
  if (*fortran_order) {
    return result_type::failure("the array is in Fortran (column-major) order; save it in C order "
                                "(numpy.ascontiguousarray) first");
  }
  a.tensor_shape = *tensor_shape;
  if (!validate_shape(a.tensor_shape).ok()) return result_type::failure("the .npy shape has more than 2^31 elements");
  const std::size_t data_start = header_start + header_length;
  const std::size_t need = a.element_count() * npy_item_size(a.dtype);
  const std::size_t have = size - data_start;
  if (have != need) {
    return result_type::failure("the .npy data has " + std::to_string(have) + " bytes, its shape and dtype need " +
                                std::to_string(need) + (have < need ? " (truncated file?)" : ""));
  }
  a.bytes.assign(data + data_start, data + size);
  return a;
}

// Reads a whole file into memory (binary); fails with a message naming the path.
inline checked<std::vector<unsigned char>> read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return checked<std::vector<unsigned char>>::failure("cannot open '" + path + "'");
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return checked<std::vector<unsigned char>>::failure("cannot read '" + path + "'");
  return bytes;
}

// Reads and parses a .npy file; the message names the path.
inline checked<npy_array> load_npy(const std::string& path) {
  const auto bytes = read_file_bytes(path);
  if (!bytes) return checked<npy_array>::failure(bytes.error());
  auto a = parse_npy(bytes->data(), bytes->size());
  if (!a) return checked<npy_array>::failure(path + ": " + a.error());
  return a;
}

// A version 1.0 .npy file holding `values` (shape s, C order).
template <class T>
std::vector<unsigned char> make_npy(const shape& s, const T* values) {
  const npy_dtype dtype = npy_dtype_of<T>();
  const char* descr = dtype == npy_dtype::int8 ? "|i1" : dtype == npy_dtype::uint8 ? "|u1" : dtype == npy_dtype::int16 ? "<i2" : "<i4";
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (";
  for (int i = 0; i < s.rank; ++i) header += (i > 0 ? ", " : "") + std::to_string(s.dims[i]);
  header += s.rank == 1 ? ",), }" : "), }";  // a one-element tuple is "(5,)"
  // Pad with spaces so the data starts at a multiple of 64, ending with a newline.
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  const unsigned char preamble[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                      static_cast<unsigned char>(header.size() & 0xFF),
                                      static_cast<unsigned char>(header.size() >> 8)};
  const auto data = encode_little_endian(values, static_cast<std::size_t>(s.element_count()));
  // Sized once and filled in place (inserting into a vector built from a short list trips GCC 12's
  // -Warray-bounds false positive).
  std::vector<unsigned char> out(sizeof preamble + header.size() + data.size());
  std::memcpy(out.data(), preamble, sizeof preamble);
  std::memcpy(out.data() + sizeof preamble, header.data(), header.size());
  if (!data.empty()) std::memcpy(out.data() + sizeof preamble + header.size(), data.data(), data.size());
  return out;
}

// Writes bytes to a file; false when it cannot.
inline bool write_file_bytes(const std::string& path, const std::vector<unsigned char>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

template <class T>
bool save_npy(const std::string& path, const shape& s, const T* values) {
  return write_file_bytes(path, make_npy(s, values));
}

}  // namespace testing
}  // namespace qkern
