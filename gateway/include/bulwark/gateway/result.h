#pragma once
// The gateway's failures as values (base/result.h with the gateway's own error type).
#include <string>
#include <string_view>

#include "bulwark/base/result.h"

namespace bulwark::gateway {

struct Error {
  std::string message;
  int sysErrno = 0;  // 0 = not a system error
};

template <typename T>
using Result = bulwark::Result<T, Error>;

using Status = Result<Unit>;
inline Status okStatus() { return Unit{}; }

// bulwark::sysError as a gateway::Error, in the argument order the daemon's call sites use.
[[nodiscard]] inline Error sysError(const std::string& what, int err) {
  return bulwark::sysError<Error>(err, what);
}

}  // namespace bulwark::gateway
