#pragma once
// nftables change notifications for the firewall's drift repair: firewall::TableWatch (the
// NFNLGRP_NFTABLES subscription, filtered to table inet bulwark) on the event loop. Its
// journal (table_journal.h) is the firewall kind's too: a drift check reads again only the
// chains and sets the events since the last verified reading named.
#include "bulwark/firewall/watch.h"
#include "kernel_watch.h"

namespace bulwark::daemon {

using DriftWatch = KernelWatch<firewall::TableWatch>;

}  // namespace bulwark::daemon
