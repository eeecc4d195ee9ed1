#pragma once
// The gateway's failures as values: a message and, for a failed system call, its errno
// (base/plain_error.h: Error, Result<T>, Status, okStatus(), sysError(what, err)).
#include "bulwark/base/plain_error.h"

namespace bulwark::gateway {

using plain::Error, plain::Result, plain::Status, plain::okStatus, plain::sysError;

}  // namespace bulwark::gateway
