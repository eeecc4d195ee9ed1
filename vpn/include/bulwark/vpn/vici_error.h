#pragma once
// Errors of the VICI client, as values. Two layers are kept apart (swanctl does the same):
//   Transport   – the socket failed (connect, read, write, EOF, timeout): errno is kept;
//   Malformed   – bytes arrived but do not form a valid VICI packet/message;
//   Unknown     – charon has no such command (CMD_UNKNOWN) or event (EVENT_UNKNOWN);
//   Command     – charon answered `success = no` (errmsg is the message);
//   Config      – Bulwark could not build what it wanted to send (bad input files, ...).
#include <string>

#include "bulwark/base/result.h"

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

template <typename T>
using ViciResult = Result<T, ViciError>;

using ViciStatus = ViciResult<Unit>;
inline ViciStatus viciOk() { return Unit{}; }

}  // namespace bulwark::vpn
