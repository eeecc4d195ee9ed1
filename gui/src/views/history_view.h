#pragma once
// Applied revisions (`history`): number, when (local time), who, hash, Git commit ("—" when
// bulwarkd recorded none), origin in words, status, summary; roll back to the selected one (`rollback {revision}`). Refreshed on every event.
// Below them, the gateway's events since the console connected, newest first (drift repairs,
// rollbacks — the confirm timer's too —, confirms, health transitions): the revisions list
// alone never shows a drift repair, which makes no revision.
#include <QWidget>

class QJsonObject;
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
  [[nodiscard]] QTableWidget* eventsTable() const { return events_; }
  static constexpr int kMaxEvents = 500;
  // bulwarkd's revision origin in words ("payload" → "sent by a client …").
  [[nodiscard]] static QString readableOrigin(const QString& origin);

 signals:
  void message(const QString& text);

 private:
  void rollBackSelected();
  void addEvent(const QJsonObject& event);
  Session* session_;
  QTableWidget* table_;
  QTableWidget* events_;
  QPushButton* rollback_;
  bool inFlight_ = false;
};

}  // namespace bulwark::console
