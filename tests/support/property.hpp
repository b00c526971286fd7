// Runs a rapidcheck property inside a doctest case: the property counts as one assertion, and
// a failure reports rapidcheck's shrunk counterexample through doctest.
#pragma once

#include <doctest/doctest.h>
#include <rapidcheck.h>

#include <sstream>
#include <string>
#include <utility>

namespace qkern_test {

template <class Property>
void check_property(const std::string& description, Property&& property) {
  const auto outcome = rc::detail::checkTestable(std::forward<Property>(property));
  std::ostringstream report;
  rc::detail::printResultMessage(outcome, report);
  CHECK_MESSAGE(outcome.template is<rc::detail::SuccessResult>(), description << "\n" << report.str());
}

}  // namespace qkern_test

#define QKERN_PROPERTY(description, ...) ::qkern_test::check_property(description, __VA_ARGS__)
