// Small helpers the kernel tests share: building shapes inline and reading error messages.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>
#include <string>

#include "qkern/core/shape.hpp"
#include "qkern/core/status.hpp"

namespace qkern_test {

inline qkern::shape make(std::initializer_list<std::int64_t> dims) { return qkern::make_shape(dims).value(); }

// The status's full message, as a host would print it.
inline std::string text(const qkern::status& s) {
  char buf[512];
  s.format(buf, sizeof buf);
  return buf;
}

// The message of a result that must have failed.
template <class R>
std::string error_text(const R& r) {
  REQUIRE_FALSE(r.ok());
  return text(r.error());
}

}  // namespace qkern_test
