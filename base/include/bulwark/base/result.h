#pragma once
// One result vocabulary for every module: expected failures are values, never exceptions.
//
//   Result<T, E>  a value or an error, must be used (GCC 12 has no std::expected; Debian's
//                 tl::expected would need tl::unexpected at every error return and is not
//                 [[nodiscard]] as a type)
//   Unit          the value of a result that has none
//   sysError      errno captured at the system call that failed, as any module's error
//
// Each module keeps its own error type E (firewall::KernelError, vlan::Error, vpn::ViciError,
// gateway::Error, ...) and names its result `template <typename T> using XResult =
// Result<T, XError>`: the failure layers stay the module's, the shape is shared.
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace bulwark {

struct Unit {};

template <typename T, typename E>
class [[nodiscard]] Result {
 public:
  using value_type = T;
  using error_type = E;

  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(implicit)
  Result(E error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(implicit)

  [[nodiscard]] bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  [[nodiscard]] T& value() { return std::get<0>(v_); }
  [[nodiscard]] const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  [[nodiscard]] const E& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};

// "what: strerror(err)" with err kept in sysErrno. E is a module's error type (it has
// `message` and `sysErrno`); `base` supplies its other fields (e.g. vlan's error code).
template <typename E>
[[nodiscard]] E sysError(int err, std::string_view what, E base = {}) {
  base.sysErrno = err;
  base.message = std::string(what) + ": " + std::strerror(err);
  return base;
}

}  // namespace bulwark
