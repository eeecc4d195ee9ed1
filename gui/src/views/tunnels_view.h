#pragma once
// VPN tunnels: `tunnels` → [{user, group, virtual_ip, outer, since, bytes_in, bytes_out}],
// refreshed every 5 s and on tunnel events; `terminate {user}` ends one. A daemon without
// these ops answers "unknown op": the view then says so instead of failing.
#include <QWidget>

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
  [[nodiscard]] QLabel* stateLabel() const { return state_; }

 signals:
  void message(const QString& text);

 private:
  Session* session_;
  QTableWidget* table_;
  QLabel* state_;
  QPushButton* terminate_;
  QTimer* timer_;
  bool supported_ = true;
  bool inFlight_ = false;
};

}  // namespace bulwark::console
