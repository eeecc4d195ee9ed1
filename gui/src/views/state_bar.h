#pragma once
// The state bar: connected to what, as whom, with which role; the running revision and a
// pending confirm; the last error when the link is down.
#include <QWidget>

class QLabel;

namespace bulwark::console {

class Session;

class StateBar : public QWidget {
  Q_OBJECT
 public:
  explicit StateBar(Session* session, QWidget* parent = nullptr);
  [[nodiscard]] QString text() const;

 private:
  void update();
  Session* session_;
  QLabel* dot_;
  QLabel* label_;
};

}  // namespace bulwark::console
