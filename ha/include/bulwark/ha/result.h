#pragma once
// The HA module's failures as values (base/result.h with the module's own error type).
#include <string>

#include "bulwark/base/result.h"

namespace bulwark::ha {

struct Error {
  std::string message;
  int sysErrno = 0;  // 0 = not a system error
};

template <typename T>
using Result = bulwark::Result<T, Error>;

using Status = Result<Unit>;
inline Status okStatus() { return Unit{}; }

// bulwark::sysError as an ha::Error ("what: strerror(err)", err kept).
[[nodiscard]] inline Error sysError(const std::string& what, int err) { return bulwark::sysError<Error>(err, what); }

}  // namespace bulwark::ha
