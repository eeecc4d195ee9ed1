#pragma once
// nftables change notifications for the firewall's drift repair: firewall::TableWatch (the
// NFNLGRP_NFTABLES subscription, filtered to table inet bulwark) on the event loop.
#include "bulwark/firewall/watch.h"
#include "kernel_watch.h"

namespace bulwark::daemon {

using DriftWatch = KernelWatch<firewall::TableWatch>;

}  // namespace bulwark::daemon
