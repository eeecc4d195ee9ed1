#pragma once
// Errors as values for the HA module (the shape of gateway::Result and vlan::Result: C++20 has
// no std::expected). errno is captured where the system call failed.
#include <string>
#include <utility>
#include <variant>

namespace bulwark::ha {

struct Error {
  std::string message;
  int sysErrno = 0;  // 0 = not a system error
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(implicit)
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(implicit)
  [[nodiscard]] bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  [[nodiscard]] T& value() { return std::get<0>(v_); }
  [[nodiscard]] const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  [[nodiscard]] const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Unit {};
using Status = Result<Unit>;
inline Status okStatus() { return Unit{}; }

// "what: strerror(err)", err kept.
[[nodiscard]] Error sysError(const std::string& what, int err);

}  // namespace bulwark::ha
