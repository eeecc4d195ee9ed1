#pragma once
// Errors as values for the link reconciler (the firewall's KernelResult shape).
#include <string>
#include <utility>
#include <variant>

namespace bulwark::vlan {

struct Error {
  enum class Code {
    InvalidPolicy,  // the policy asks for something impossible (no trunk, VLAN id range ...)
    Conflict,       // the kernel holds something Bulwark must not touch (foreign link, name clash)
    Missing,        // an interface the policy relies on does not exist (trunk, plain interface)
    Stale,          // the kernel changed between plan and apply: plan again
    Kernel,         // the kernel refused a request (errno set)
    Io,             // socket / procfs failure (errno set)
  };
  Code code = Code::Kernel;
  int sysErrno = 0;     // errno of the first failure (0 = not a system error)
  std::string message;  // every problem, one per line, each led by the policy file:line:col
};

// A small expected<T, Error>.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}       // NOLINT(implicit)
  Result(Error error) : v_(std::move(error)) {}   // NOLINT(implicit)
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

}  // namespace bulwark::vlan
