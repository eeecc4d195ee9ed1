#include "control/gateway_health.h"

#include <QJsonArray>

namespace bulwark::console {

namespace {

QString str(const QJsonObject& o, const char* key) { return o.value(QLatin1String(key)).toString(); }

}  // namespace

std::vector<GatewayPart> gatewayParts(const QJsonObject& status) {
  std::vector<GatewayPart> out;
  if (!str(status, "policy_error").isEmpty()) out.push_back({QStringLiteral("policy"), QStringLiteral("error"), str(status, "policy_error")});
  for (const auto& v : status.value(QStringLiteral("kinds")).toArray()) {
    auto k = v.toObject();
    GatewayPart p{str(k, "kind"), str(k, "state"), str(k, "last_error")};
    if (p.state == QStringLiteral("error") && p.error.isEmpty()) p.error = QStringLiteral("error");
    out.push_back(std::move(p));
  }
  auto ha = status.value(QStringLiteral("ha")).toObject();
  if (!ha.isEmpty()) {
    QStringList problems;
    if (ha.value(QStringLiteral("split_brain")).toBool()) problems << QStringLiteral("split brain");
    if (str(ha, "sync_link") == QStringLiteral("down")) problems << QStringLiteral("sync link down");
    if (ha.contains(QStringLiteral("running")) && !ha.value(QStringLiteral("running")).toBool()) problems << QStringLiteral("keepalived not running");
    if (ha.value(QStringLiteral("standing_down")).toBool()) problems << QStringLiteral("standing down");
    out.push_back({QStringLiteral("HA"), str(ha, "role").isEmpty() ? QStringLiteral("unknown") : str(ha, "role"),
                   problems.join(QStringLiteral(", "))});
  }
  auto peer = status.value(QStringLiteral("peer")).toObject();
  if (!peer.isEmpty()) {
    QString alert = peer.value(QStringLiteral("alert")).isString() ? str(peer, "alert") : QString();
    if (alert.isEmpty() && peer.contains(QStringLiteral("reachable")) && !peer.value(QStringLiteral("reachable")).toBool()) {
      alert = QStringLiteral("unreachable");
    }
    const bool inSync = peer.value(QStringLiteral("in_sync")).toBool(true);
    if (alert.isEmpty() && !inSync) alert = QStringLiteral("out of sync");
    out.push_back({QStringLiteral("peer"), alert.isEmpty() ? QStringLiteral("in sync") : QStringLiteral("error"), alert});
  }
  return out;
}

bool isConfirmTimeout(const QJsonObject& event) {
  return str(event, "event") == QStringLiteral("rollback") && str(event, "who").contains(QStringLiteral("confirm timeout"));
}

QString eventWords(const QJsonObject& e) {
  const auto name = str(e, "event");
  const auto who = str(e, "who");
  const auto summary = str(e, "summary");
  const bool ok = e.value(QStringLiteral("ok")).toBool(true);
  auto with = [&](const QString& head) { return summary.isEmpty() ? head : head + QStringLiteral(": ") + summary; };
  if (name == QStringLiteral("drift-repaired")) return with(QStringLiteral("drift repaired"));
  if (name == QStringLiteral("drift-detected")) return with(QStringLiteral("drift detected (not repaired: --drift alert)"));
  if (name == QStringLiteral("drift-repair-failed")) return with(QStringLiteral("drift repair FAILED"));
  if (isConfirmTimeout(e)) return with(QStringLiteral("rolled back (not confirmed in time)"));
  if (name == QStringLiteral("rollback")) return with(QStringLiteral("rolled back by %1%2").arg(who, ok ? QString() : QStringLiteral(" (with errors)")));
  if (name == QStringLiteral("confirm")) return with(QStringLiteral("confirmed by %1").arg(who));
  if (name == QStringLiteral("apply")) return with(QStringLiteral("revision %1 applied by %2").arg(e.value(QStringLiteral("revision")).toInt()).arg(who));
  if (name == QStringLiteral("tunnel")) {
    return QStringLiteral("tunnel %1 %2").arg(str(e, "user").isEmpty() ? str(e, "connection") : str(e, "user"), str(e, "state"));
  }
  auto head = name;
  head.replace(QLatin1Char('-'), QLatin1Char(' '));
  if (!who.isEmpty()) head += QStringLiteral(" by ") + who;
  if (!ok) head += QStringLiteral(" (failed)");
  return with(head);
}

}  // namespace bulwark::console
