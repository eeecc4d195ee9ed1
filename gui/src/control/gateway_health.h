#pragma once
// The gateway's parts as the daemon's `status` reports them, in words for the state bar:
// each kind (firewall, links, vpn, keepalived, health, …) with its state and last error, the
// policy dir's load error, HA (role, sync link, split brain) and the HA peer when present.
// Pure functions over the reply, so the bar and the tests read the same thing.
#include <QJsonObject>
#include <QString>

#include <vector>

namespace bulwark::console {

struct GatewayPart {
  QString name;   // "firewall", "links", "vpn", "policy", "HA", "peer", …
  QString state;  // "ok", "error", "unknown", "MASTER", …
  QString error;  // "" when fine
  [[nodiscard]] bool bad() const { return !error.isEmpty(); }
};

[[nodiscard]] std::vector<GatewayPart> gatewayParts(const QJsonObject& status);

// Readable words for one event of the `events` stream (audit lines: apply, confirm, rollback,
// drift-repaired, health-down, tunnel, …): "drift repaired: firewall: 2 foreign change(s) reverted".
[[nodiscard]] QString eventWords(const QJsonObject& event);
// The confirm timer's rollback (bulwarkd records it as "rollback" by "bulwarkd (confirm timeout)").
[[nodiscard]] bool isConfirmTimeout(const QJsonObject& event);

}  // namespace bulwark::console
