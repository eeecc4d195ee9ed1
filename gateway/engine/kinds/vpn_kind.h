#pragma once
// The admin VPN as a resource kind (after the firewall and the links): the policy's charon
// configuration (vpn::charonConfigFromPolicy, credentials from the PKI dir) reconciled over
// VICI (vpn::observe/planReconcile/applyPlan). A null state unloads everything Bulwark owns
// in charon.
#include <functional>
#include <string>

#include "bulwark/vpn/charon_config.h"
#include "resource_kind.h"

namespace bulwark::engine {

struct VpnOptions {
  std::string viciUri;  // "unix:///run/charon.vici"
  std::string pkiDir;   // ca.crt, gateway.crt, private/gateway.key, crl.pem
  bool libipsec = false;  // charon uses kernel-libipsec: force UDP encapsulation
  // An HA pair's standby (bulwarkd --ha --charon): charon runs on the active node only, so
  // there is nothing to configure while this returns true (in sync); the node that becomes
  // active starts charon, the reconnect schedules a check, and the kind loads it.
  std::function<bool()> standby;
};

class VpnState : public KindState {
 public:
  explicit VpnState(vpn::CharonConfig c) : config(std::move(c)) {}
  vpn::CharonConfig config;
};

[[nodiscard]] ResourceKindPtr makeVpnKind(VpnOptions options);

}  // namespace bulwark::engine
