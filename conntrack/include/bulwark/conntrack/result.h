#pragma once
// The conntrack module's failures as values (base/result.h with its own error type).
#include <string>

#include "bulwark/base/result.h"

namespace bulwark::conntrack {

struct Error {
  std::string message;
  int sysErrno = 0;  // errno of the failed call (0 = not a system error)
};

template <typename T>
using Result = bulwark::Result<T, Error>;
using Status = Result<Unit>;

}  // namespace bulwark::conntrack
