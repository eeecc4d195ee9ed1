#pragma once
// The state bar: connected to what, as whom, with which role; the running revision and the one
// countdown of a pending confirm (the Session's; the Plan view shows the same), or how the last
// pending apply ended; each part of the gateway the daemon's `status` reports (firewall, links,
// VPN, HA, …) with its state and error text; the last event (drift repairs, rollbacks, …) as it
// happens. Green when connected and every part is fine, amber on any part's error, red when
// the link to the daemon is down.
#include <QWidget>

class QJsonObject;
class QLabel;

namespace bulwark::console {

class Session;

class StateBar : public QWidget {
  Q_OBJECT
 public:
  enum class Health { Green, Amber, Red };

  explicit StateBar(Session* session, QWidget* parent = nullptr);
  [[nodiscard]] QString text() const;
  [[nodiscard]] QString partsText() const;     // "firewall ok · links error: … · vpn ok"
  [[nodiscard]] QString activityText() const;  // the last event, with its local time
  [[nodiscard]] Health health() const { return health_; }
  // The longest error text shown in the bar (the tooltip holds it all).
  static constexpr int kMaxErrorChars = 160;

 private:
  void update();
  void onEvent(const QJsonObject& event);
  Session* session_;
  QLabel* dot_;
  QLabel* label_;
  QLabel* parts_;
  QLabel* activity_;
  Health health_ = Health::Red;
};

}  // namespace bulwark::console
