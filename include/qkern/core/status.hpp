// status and result<T>: error reporting without exceptions or heap.
//
// Every prepare step returns a result<params>. A failed result carries a status whose
// message is a string literal naming the problem, an optional subject (which tensor or
// parameter) and an optional offending integer value, so a host can print
// "input2: zero point is outside the range of the element type (got 200)".
#pragma once

#include <cstddef>
#include <cstdint>

#include "qkern/core/config.hpp"

namespace qkern {

enum class status_code : std::uint8_t {
  ok = 0,
  invalid_scale,         // NaN, infinite, zero or negative scale
  invalid_zero_point,    // zero point outside the element type
  invalid_shape,         // negative extent, rank mismatch, element count overflow
  rank_too_large,        // rank above max_rank
  not_broadcastable,     // two shapes that do not broadcast
  invalid_multiplier,    // real multiplier NaN, infinite, negative or out of a form's range
  unsupported_parameter, // a combination the reference kernels do not define
  overflow,              // parameters whose integer arithmetic could overflow
  invalid_argument,      // any other bad argument (strides of 0, null buffers...)
  buffer_too_small,      // caller scratch or output smaller than prepare reported
};

constexpr const char* status_code_name(status_code code) noexcept {
  switch (code) {
    case status_code::ok: return "ok";
    case status_code::invalid_scale: return "invalid scale";
    case status_code::invalid_zero_point: return "invalid zero point";
    case status_code::invalid_shape: return "invalid shape";
    case status_code::rank_too_large: return "rank too large";
    case status_code::not_broadcastable: return "shapes do not broadcast";
    case status_code::invalid_multiplier: return "invalid multiplier";
    case status_code::unsupported_parameter: return "unsupported parameter";
    case status_code::overflow: return "overflow";
    case status_code::invalid_argument: return "invalid argument";
    case status_code::buffer_too_small: return "buffer too small";
  }
  return "unknown";
}

class status {
 public:
  constexpr status() noexcept = default;
  constexpr status(status_code code, const char* message, const char* subject = nullptr) noexcept
      : code_(code), message_(message), subject_(subject) {}
  constexpr status(status_code code, const char* message, const char* subject,
                   std::int64_t value) noexcept
      : code_(code), message_(message), subject_(subject), value_(value), has_value_(true) {}

  constexpr bool ok() const noexcept { return code_ == status_code::ok; }
  constexpr explicit operator bool() const noexcept { return ok(); }
  constexpr status_code code() const noexcept { return code_; }
  constexpr const char* message() const noexcept { return message_ ? message_ : status_code_name(code_); }
  constexpr const char* subject() const noexcept { return subject_; }
  constexpr bool has_value() const noexcept { return has_value_; }
  constexpr std::int64_t value() const noexcept { return value_; }

  // The same error, now naming what it is about (kept if one is already named).
  constexpr status about(const char* subject) const noexcept {
    status s = *this;
    if (s.subject_ == nullptr) s.subject_ = subject;
    return s;
  }

  // Writes "subject: message (got value)" into buf, always NUL-terminated when size > 0.
  // Returns the length the full text needs, like snprintf.
  std::size_t format(char* buf, std::size_t size) const noexcept {
    const std::size_t capacity = size > 0 ? size - 1 : 0;  // room left for the terminator
    std::size_t n = 0;
    auto put = [&](char c) {
      if (n < capacity) buf[n] = c;
      ++n;
    };
    auto puts = [&](const char* s) {
      while (*s) put(*s++);
    };
    if (subject_ != nullptr) {
      puts(subject_);
      puts(": ");
    }
    puts(message());
    if (has_value_) {
      puts(" (got ");
      char digits[24];
      int len = 0;
      std::uint64_t magnitude = value_ < 0 ? 0 - static_cast<std::uint64_t>(value_)
                                           : static_cast<std::uint64_t>(value_);
      do {
        digits[len++] = static_cast<char>('0' + magnitude % 10);
        magnitude /= 10;
      } while (magnitude != 0);
      if (value_ < 0) put('-');
      while (len > 0) put(digits[--len]);
      put(')');
    }
    if (size > 0) buf[n < capacity ? n : capacity] = '\0';
    return n;
  }

 private:
  status_code code_ = status_code::ok;
  const char* message_ = nullptr;
  const char* subject_ = nullptr;
  std::int64_t value_ = 0;
  bool has_value_ = false;
};

// A value or the status that explains why there is none. T must be default-constructible
// and a literal type for use in constant expressions (all qkern params structs are).
template <class T>
class result {
 public:
  constexpr result(const T& value) noexcept : value_(value) {}  // NOLINT: implicit by design
  constexpr result(const status& error) noexcept : status_(error) {  // NOLINT
    if (status_.ok()) status_ = status(status_code::invalid_argument, "result built from an ok status");
  }

  constexpr bool ok() const noexcept { return status_.ok(); }
  constexpr explicit operator bool() const noexcept { return ok(); }
  constexpr const status& error() const noexcept { return status_; }

  // Precondition: ok(). Reading the value of a failed result is a contract violation:
  // it does not compile in a constant expression and traps at run time.
  constexpr const T& value() const noexcept {
    if (!ok()) detail::contract_violation();
    return value_;
  }
  constexpr const T& operator*() const noexcept { return value(); }
  constexpr const T* operator->() const noexcept { return &value(); }

 private:
  T value_{};
  status status_{};
};

}  // namespace qkern

// Propagates a failed status out of the enclosing function (which returns status or result<U>).
#define QKERN_TRY(expr)                                   \
  do {                                                    \
    const ::qkern::status qkern_try_status_ = (expr);     \
    if (!qkern_try_status_.ok()) return qkern_try_status_; \
  } while (false)
