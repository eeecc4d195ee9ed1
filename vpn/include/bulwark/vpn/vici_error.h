#pragma once
// Errors of the VICI client, as values. Two layers are kept apart (swanctl does the same):
//   Transport   – the socket failed (connect, read, write, EOF, timeout): errno is kept;
//   Malformed   – bytes arrived but do not form a valid VICI packet/message;
//   Unknown     – charon has no such command (CMD_UNKNOWN) or event (EVENT_UNKNOWN);
//   Command     – charon answered `success = no` (errmsg is the message);
//   Config      – Bulwark could not build what it wanted to send (bad input files, ...).
#include <string>
#include <utility>
#include <variant>

namespace bulwark::vpn {

enum class ViciErrorKind { Transport, Malformed, Unknown, Command, Config };
[[nodiscard]] const char* viciErrorKindName(ViciErrorKind k);

struct ViciError {
  ViciErrorKind kind = ViciErrorKind::Transport;
  std::string message;   // human readable, names the command when there is one
  int sysErrno = 0;      // Transport only; 0 for EOF / timeout
  std::string command;   // the VICI command or event involved, if any

  [[nodiscard]] bool isTransport() const { return kind == ViciErrorKind::Transport; }
  [[nodiscard]] std::string str() const;
};

// A small expected<T, ViciError>.
template <typename T>
class [[nodiscard]] ViciResult {
 public:
  ViciResult(T value) : v_(std::move(value)) {}            // NOLINT(implicit)
  ViciResult(ViciError error) : v_(std::move(error)) {}    // NOLINT(implicit)
  [[nodiscard]] bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  [[nodiscard]] T& value() { return std::get<0>(v_); }
  [[nodiscard]] const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  [[nodiscard]] const ViciError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, ViciError> v_;
};

struct Unit {};
using ViciStatus = ViciResult<Unit>;
inline ViciStatus viciOk() { return Unit{}; }

}  // namespace bulwark::vpn
