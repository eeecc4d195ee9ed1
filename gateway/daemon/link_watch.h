#pragma once
// rtnetlink change notifications for the links' drift repair: vlan::LinkWatch (links,
// addresses, per-interface forwarding/rp_filter) on the event loop.
#include "bulwark/vlan/watch.h"
#include "kernel_watch.h"

namespace bulwark::daemon {

using LinkWatch = KernelWatch<vlan::LinkWatch>;

}  // namespace bulwark::daemon
