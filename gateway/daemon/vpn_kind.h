#pragma once
// The engine's VPN kind's options under bulwarkd's names, with the daemon's tunnel side, for
// main.cpp (engine::registeredKinds) and the handlers.
#include "kinds/vpn_kind.h"
#include "vpn_tunnels.h"

namespace bulwark::daemon {

using engine::VpnOptions;

}  // namespace bulwark::daemon
