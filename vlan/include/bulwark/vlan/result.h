#pragma once
// Errors as values for the link reconciler (base/result.h with vlan's own error type).
#include <string>

#include "bulwark/base/result.h"

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

template <typename T>
using Result = bulwark::Result<T, Error>;

}  // namespace bulwark::vlan
