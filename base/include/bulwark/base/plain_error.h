#pragma once
// The result vocabulary of a module whose failures carry nothing but a message and, for a
// failed system call, its errno (gateway/, ha/). Such a module names these as its own
// (`using plain::Error, plain::Result, ...;` in its result.h), so the shape is written once.
#include <string>

#include "bulwark/base/result.h"

namespace bulwark::plain {

struct Error {
  std::string message;
  int sysErrno = 0;  // 0 = not a system error
};

template <typename T>
using Result = bulwark::Result<T, Error>;

using Status = Result<Unit>;
inline Status okStatus() { return Unit{}; }

// bulwark::sysError as a plain::Error ("what: strerror(err)", err kept), what first as the
// gateway's and ha's call sites have it.
[[nodiscard]] inline Error sysError(const std::string& what, int err) { return bulwark::sysError<Error>(err, what); }

}  // namespace bulwark::plain
