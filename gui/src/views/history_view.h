#pragma once
// Applied revisions (`history`): number, when (local time), who, hash, Git commit ("—" when
// bulwarkd recorded none), origin in words, status, summary; roll back to the selected one (`rollback {revision}`). Refreshed on every event.
// Below them, the gateway's events since the console connected, newest first (drift repairs,
// rollbacks — the confirm timer's too —, confirms, health transitions): the revisions list
// alone never shows a drift repair, which makes no revision. Beside the events, the selected
// revision's change: its policy files (`revision N`) diffed against the revision before it
// in the list (git diff --no-index, off the GUI thread).
#include <QFutureWatcher>
#include <QWidget>

#include "policy/working_diff.h"

class QJsonObject;
class QPlainTextEdit;
class QTabWidget;
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
  // The selected revision's diff against the one before it ("" until one is selected).
  [[nodiscard]] QPlainTextEdit* revisionDiff() const { return diff_; }
  // Shows revision `number`'s change (what selecting its row does).
  void showRevisionChange(int number);
  static constexpr int kMaxEvents = 500;
  // bulwarkd's revision origin in words ("payload" → "sent by a client …").
  [[nodiscard]] static QString readableOrigin(const QString& origin);
  // A recorded commit in the table: 10 hex digits, and "-dirty" when it was recorded so.
  [[nodiscard]] static QString shortCommit(const QString& commit);

 signals:
  void message(const QString& text);

 private:
  void rollBackSelected();
  void addEvent(const QJsonObject& event);
  // The revision listed below `number` (the one before it), 0 when it is the oldest listed.
  [[nodiscard]] int previousListed(int number) const;
  Session* session_;
  QTableWidget* table_;
  QTableWidget* events_;
  QTabWidget* below_;
  QPlainTextEdit* diff_;
  QPushButton* rollback_;
  bool inFlight_ = false;
  int diffWanted_ = 0;  // the revision whose change was asked for last (later answers win)
  QFutureWatcher<WorkingDiff> diffRun_;
};

}  // namespace bulwark::console
