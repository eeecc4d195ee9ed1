#include "views/history_view.h"

#include <QDateTime>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QLabel>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <memory>

#include "control/gateway_health.h"
#include "control/session.h"
#include "views/local_time.h"
#include "views/panes.h"

namespace bulwark::console {

HistoryView::HistoryView(Session* session, QWidget* parent) : QWidget(parent), session_(session) {
  table_ = new QTableWidget(0, 8);
  table_->setHorizontalHeaderLabels({tr("rev"), tr("time"), tr("who"), tr("hash"), tr("git"), tr("origin"), tr("status"), tr("summary")});
  table_->horizontalHeader()->setStretchLastSection(true);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::SingleSelection);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  auto* refreshBtn = new QPushButton(tr("Refresh"));
  rollback_ = new QPushButton(tr("Roll back to selected revision"));
  auto* bar = new QHBoxLayout;
  bar->addWidget(refreshBtn);
  bar->addWidget(rollback_);
  bar->addStretch(1);
  events_ = new QTableWidget(0, 3);
  events_->setObjectName(QStringLiteral("eventsTable"));
  events_->setHorizontalHeaderLabels({tr("time"), tr("event"), tr("who")});
  events_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
  events_->horizontalHeader()->setSectionResizeMode(1, QHeaderView::Stretch);
  events_->horizontalHeader()->setSectionResizeMode(2, QHeaderView::ResizeToContents);
  events_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  events_->setWordWrap(true);
  auto* eventsBox = new QWidget;
  auto* eventsLay = new QVBoxLayout(eventsBox);
  eventsLay->setContentsMargins(0, 0, 0, 0);
  eventsLay->addWidget(new QLabel(tr("Events since connected (drift repairs, rollbacks, confirms, health), newest first")));
  eventsLay->addWidget(events_, 1);
  diff_ = new QPlainTextEdit;
  diff_->setObjectName(QStringLiteral("revisionDiff"));
  diff_->setReadOnly(true);
  diff_->setLineWrapMode(QPlainTextEdit::NoWrap);  // a diff's columns mean something
  diff_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  diff_->setPlaceholderText(tr("Select a revision to see what it changed against the one before it."));
  below_ = new QTabWidget;
  below_->addTab(eventsBox, tr("Events"));
  below_->addTab(diff_, tr("Selected revision's change"));
  auto* split = stackedPanes(table_, 3, below_, 2);
  auto* lay = new QVBoxLayout(this);
  lay->addLayout(bar);
  lay->addWidget(split, 1);
  connect(refreshBtn, &QPushButton::clicked, this, &HistoryView::refresh);
  connect(rollback_, &QPushButton::clicked, this, &HistoryView::rollBackSelected);
  connect(table_, &QTableWidget::itemSelectionChanged, this, [this] {
    auto rows = table_->selectionModel()->selectedRows();
    if (rows.isEmpty()) return;
    showRevisionChange(table_->item(rows.first().row(), 0)->data(Qt::UserRole).toInt());
    below_->setCurrentWidget(diff_);
  });
  connect(&diffRun_, &QFutureWatcher<WorkingDiff>::finished, this, [this] {
    const auto r = diffRun_.result();
    diff_->setPlainText(r.error.isEmpty() ? r.text : tr("diff: %1").arg(r.error));
  });
  connect(session_, &Session::eventReceived, this, [this](const QJsonObject& ev) {
    addEvent(ev);
    refresh();
  });
  connect(session_, &Session::stateChanged, this, [this] {
    if (session_->state() == Session::State::Connected && table_->rowCount() == 0) refresh();
  });
}

QString HistoryView::shortCommit(const QString& commit) {
  const QString dirty = QStringLiteral("-dirty");
  return commit.endsWith(dirty) ? commit.left(std::min<qsizetype>(10, commit.size() - dirty.size())) + dirty
                                : commit.left(10);
}

void HistoryView::refresh() {
  if (inFlight_ || session_->state() != Session::State::Connected) return;
  inFlight_ = true;
  session_->request(QStringLiteral("history"), {{"limit", 200}}, this, [this](const QJsonObject& r) {
    inFlight_ = false;
    if (!r.value(QStringLiteral("ok")).toBool()) {
      emit message(tr("history: %1").arg(replyError(r)));
      return;
    }
    auto revs = r.value(QStringLiteral("revisions")).toArray();
    table_->setRowCount(static_cast<int>(revs.size()));
    int row = 0;
    for (const auto& v : revs) {
      auto o = v.toObject();
      const auto git = o.value(QStringLiteral("git_commit")).toString();
      const QStringList cells{QString::number(o.value(QStringLiteral("revision")).toInt()) +
                                  (o.value(QStringLiteral("current")).toBool() ? QStringLiteral(" ●") : QString()),
                              localDateTime(daemonTime(o.value(QStringLiteral("time")))),
                              o.value(QStringLiteral("who")).toString(),
                              o.value(QStringLiteral("hash")).toString().left(12),
                              git.isEmpty() ? QStringLiteral("—") : shortCommit(git),
                              readableOrigin(o.value(QStringLiteral("origin")).toString()),
                              o.value(QStringLiteral("status")).toString(),
                              o.value(QStringLiteral("summary")).toString()};
      const QStringList tips{QString(), o.value(QStringLiteral("time")).toString() + tr(" (UTC, as recorded)"), QString(),
                             o.value(QStringLiteral("hash")).toString(),
                             git.isEmpty() ? tr("no Git commit recorded: bulwarkd records the commit of a policy dir "
                                                "inside a Git work tree, or the one a client names with its sources")
                             : git.endsWith(QStringLiteral("-dirty"))
                                 ? tr("%1: the files applied differed from this commit").arg(git)
                                 : git,
                             o.value(QStringLiteral("origin")).toString(), QString(), o.value(QStringLiteral("summary")).toString()};
      for (int c = 0; c < cells.size(); ++c) {
        auto* it = new QTableWidgetItem(cells[c]);
        it->setData(Qt::UserRole, o.value(QStringLiteral("revision")).toInt());
        if (!tips[c].isEmpty()) it->setToolTip(tips[c]);
        table_->setItem(row, c, it);
      }
      ++row;
    }
    table_->resizeColumnsToContents();
  });
}

QString HistoryView::readableOrigin(const QString& origin) {
  // bulwarkd's words: "payload" (sources a client sent), the policy dir's path, "revision N"
  // (a rollback re-applying N), each maybe followed by " (pair apply with NODE)".
  auto head = origin;
  QString tail;
  if (auto at = origin.indexOf(QStringLiteral(" (")); at > 0) {
    head = origin.left(at);
    tail = origin.mid(at);
  }
  if (head == QStringLiteral("payload")) return tr("sent by a client (console or bulwarkctl)") + tail;
  if (head.startsWith(QStringLiteral("revision "))) return tr("rollback: re-applied %1").arg(head) + tail;
  if (head.startsWith(QLatin1Char('/'))) return tr("policy dir %1").arg(head) + tail;
  return origin;
}

void HistoryView::addEvent(const QJsonObject& ev) {
  auto when = daemonTime(ev.value(QStringLiteral("time")));
  if (!when.isValid()) when = QDateTime::currentDateTime();
  events_->insertRow(0);
  const auto words = eventWords(ev);
  const QStringList cells{localDateTime(when), words, ev.value(QStringLiteral("who")).toString()};
  for (int c = 0; c < cells.size(); ++c) {
    auto* it = new QTableWidgetItem(cells[c]);
    it->setToolTip(c == 1 ? words : cells[c]);
    if (!ev.value(QStringLiteral("ok")).toBool(true)) it->setForeground(QColor(0xb0, 0x1c, 0x1c));
    events_->setItem(0, c, it);
  }
  if (events_->rowCount() > kMaxEvents) events_->setRowCount(kMaxEvents);
}

int HistoryView::previousListed(int number) const {
  int best = 0;
  for (int row = 0; row < table_->rowCount(); ++row) {
    const int n = table_->item(row, 0)->data(Qt::UserRole).toInt();
    if (n < number && n > best) best = n;
  }
  return best;
}

namespace {

std::vector<NamedText> textsOf(const QJsonObject& revisionReply) {
  std::vector<NamedText> out;
  for (const auto& v : revisionReply.value(QStringLiteral("sources")).toArray()) {
    const auto o = v.toObject();
    out.push_back({o.value(QStringLiteral("name")).toString(), o.value(QStringLiteral("text")).toString()});
  }
  return out;
}

}  // namespace

void HistoryView::showRevisionChange(int number) {
  if (number <= 0 || session_->state() != Session::State::Connected) return;
  diffWanted_ = number;
  const int before = previousListed(number);
  diff_->setPlainText(tr("Reading revision %1…").arg(number));
  // Both records, then one diff; an answer for a row no longer selected is dropped.
  auto got = std::make_shared<std::pair<QJsonObject, QJsonObject>>();
  auto both = [this, number, before, got] {
    if (diffWanted_ != number || got->second.isEmpty() || (before > 0 && got->first.isEmpty())) return;
    for (const auto* r : {&got->first, &got->second}) {
      if (!r->isEmpty() && !r->value(QStringLiteral("ok")).toBool()) {
        diff_->setPlainText(tr("revision: %1").arg(replyError(*r)));
        return;
      }
    }
    const auto heading = before > 0
                             ? tr("== revision %1 against revision %2 (the one before it) ==").arg(number).arg(before)
                             : tr("== revision %1: the oldest listed, all of it is new here ==").arg(number);
    if (diffRun_.isRunning()) diffRun_.waitForFinished();  // one git run, milliseconds
    diffRun_.setFuture(QtConcurrent::run(&textsDiff, heading, QStringLiteral("revision-%1").arg(before),
                                         textsOf(got->first), QStringLiteral("revision-%1").arg(number),
                                         textsOf(got->second), tr("(no change in the policy files)\n")));
  };
  if (before > 0) {
    session_->request(QStringLiteral("revision"), {{"revision", before}}, this, [got, both](const QJsonObject& r) {
      got->first = r;
      both();
    });
  }
  session_->request(QStringLiteral("revision"), {{"revision", number}}, this, [got, both](const QJsonObject& r) {
    got->second = r;
    both();
  });
}

void HistoryView::rollBackSelected() {
  auto rows = table_->selectionModel()->selectedRows();
  if (rows.isEmpty()) return;
  int rev = table_->item(rows.first().row(), 0)->data(Qt::UserRole).toInt();
  if (QMessageBox::question(this, tr("Roll back"), tr("Re-apply revision %1 now?").arg(rev)) != QMessageBox::Yes) return;
  rollback_->setEnabled(false);
  session_->request(QStringLiteral("rollback"), {{"revision", rev}}, this, [this, rev](const QJsonObject& r) {
    rollback_->setEnabled(true);
    emit message(r.value(QStringLiteral("ok")).toBool() ? tr("rolled back to revision %1").arg(rev)
                                                        : tr("rollback: %1").arg(replyError(r)));
    refresh();
    session_->refreshStatus();
  });
}

}  // namespace bulwark::console
