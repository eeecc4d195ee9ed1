#pragma once
// The firewall's failures as values: what the kernel (or the socket to it) refused. Every
// failing batch message is mapped back to the IR object it came from and that object's Origin
// ("campus.yaml:72:5: kernel rejected rule 'public-web' in chain 'internet__dmz': Invalid
// argument"), one per item.
#include <string>
#include <vector>

#include "bulwark/base/result.h"

namespace bulwark::firewall {

struct KernelError {
  std::string message;              // every problem, one per line
  int sysErrno = 0;                 // errno of the first failure (0 = not a system error)
  std::vector<std::string> items;   // one entry per failing message / object
  // The kernel had committed a write before this failure (reconcile.h: the read-back): what
  // the table held before is gone, the caller restores it.
  bool written = false;
};

template <typename T>
using KernelResult = Result<T, KernelError>;

}  // namespace bulwark::firewall
