#pragma once
// VPN tunnels: `tunnels` → [{user, group, virtual_ip, outer, since, bytes_in, bytes_out}],
// refreshed every 5 s and on tunnel events; "since" in local time, bytes in KB/MB with the
// rate since the previous refresh; `terminate {user}` ends one. A daemon without
// these ops answers "unknown op": the view then says so instead of failing.
#include <QDateTime>
#include <QWidget>

#include <map>

class QLabel;
class QPushButton;
class QTableWidget;
class QTimer;

namespace bulwark::console {

class Session;

class TunnelsView : public QWidget {
  Q_OBJECT
 public:
  explicit TunnelsView(Session* session, QWidget* parent = nullptr);
  void refresh();
  [[nodiscard]] bool supported() const { return supported_; }
  [[nodiscard]] bool refreshing() const { return inFlight_; }
  [[nodiscard]] QLabel* stateLabel() const { return state_; }
  static constexpr qint64 kMinRateMillis = 1000;  // the shortest interval a rate is measured over

 signals:
  void message(const QString& text);

 private:
  Session* session_;
  QTableWidget* table_;
  QLabel* state_;
  QPushButton* terminate_;
  QTimer* timer_;
  struct Sample {
    qint64 millis = 0;
    qint64 in = 0, out = 0;
  };
  std::map<QString, Sample> samples_;  // per tunnel, the last refresh: for the byte rates
  QDateTime listedAt_;                 // when the daemon last listed the tunnels
  bool supported_ = true;
  bool inFlight_ = false;
};

}  // namespace bulwark::console
