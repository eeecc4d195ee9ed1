#pragma once
// Applied revisions (`history`): number, when, who, hash, Git commit, origin, status,
// summary; roll back to the selected one (`rollback {revision}`). Refreshed on every event.
#include <QWidget>

class QTableWidget;
class QPushButton;

namespace bulwark::console {

class Session;

class HistoryView : public QWidget {
  Q_OBJECT
 public:
  explicit HistoryView(Session* session, QWidget* parent = nullptr);
  void refresh();
  [[nodiscard]] QTableWidget* table() const { return table_; }

 signals:
  void message(const QString& text);

 private:
  void rollBackSelected();
  Session* session_;
  QTableWidget* table_;
  QPushButton* rollback_;
  bool inFlight_ = false;
};

}  // namespace bulwark::console
