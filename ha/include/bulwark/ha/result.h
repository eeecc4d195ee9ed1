#pragma once
// The HA module's failures as values: a message and, for a failed system call, its errno
// (base/plain_error.h: Error, Result<T>, Status, okStatus(), sysError(what, err)).
#include "bulwark/base/plain_error.h"

namespace bulwark::ha {

using plain::Error, plain::Result, plain::Status, plain::okStatus, plain::sysError;

}  // namespace bulwark::ha
