#include "views/tunnels_view.h"

#include <QDateTime>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QLabel>
#include <QLocale>
#include <QMessageBox>
#include <QPushButton>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>

#include "control/session.h"
#include "views/local_time.h"

namespace bulwark::console {

TunnelsView::TunnelsView(Session* session, QWidget* parent) : QWidget(parent), session_(session) {
  table_ = new QTableWidget(0, 7);
  table_->setHorizontalHeaderLabels({tr("user"), tr("group"), tr("virtual IP"), tr("client's public address"),
                                     tr("up since (local time)"), tr("received from client"), tr("sent to client")});
  table_->horizontalHeaderItem(3)->setToolTip(tr("The address the admin's IKE/ESP packets come from (the tunnel's outer address)"));
  // Every header readable ("client's public address", "received from client"): columns as wide
  // as their header or their widest value.
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table_->horizontalHeader()->setStretchLastSection(true);
  table_->setWordWrap(false);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  state_ = new QLabel(tr("not connected"));
  terminate_ = new QPushButton(tr("Terminate selected tunnel"));
  auto* bar = new QHBoxLayout;
  bar->addWidget(terminate_);
  bar->addWidget(state_, 1);
  auto* lay = new QVBoxLayout(this);
  lay->addLayout(bar);
  lay->addWidget(table_, 1);
  timer_ = new QTimer(this);
  timer_->setInterval(5000);
  connect(timer_, &QTimer::timeout, this, &TunnelsView::refresh);
  timer_->start();
  connect(session_, &Session::stateChanged, this, [this] {
    if (session_->state() == Session::State::Connected) {
      supported_ = true;  // a new daemon may know the op
      refresh();
    }
  });
  connect(session_, &Session::eventReceived, this, [this](const QJsonObject& ev) {
    if (ev.value(QStringLiteral("event")).toString().contains(QStringLiteral("tunnel"))) refresh();
  });
  connect(terminate_, &QPushButton::clicked, this, [this] {
    auto rows = table_->selectionModel()->selectedRows();
    if (rows.isEmpty()) return;
    auto user = table_->item(rows.first().row(), 0)->text();
    if (QMessageBox::question(this, tr("Terminate"), tr("Terminate %1's tunnel?").arg(user)) != QMessageBox::Yes) return;
    session_->request(QStringLiteral("terminate"), {{"user", user}}, this, [this, user](const QJsonObject& r) {
      emit message(r.value(QStringLiteral("ok")).toBool() ? tr("terminated %1").arg(user) : tr("terminate: %1").arg(replyError(r)));
      refresh();
    });
  });
}

void TunnelsView::refresh() {
  if (!supported_ || inFlight_ || session_->state() != Session::State::Connected) return;
  inFlight_ = true;
  session_->request(QStringLiteral("tunnels"), {}, this, [this](const QJsonObject& r) {
    inFlight_ = false;
    if (!r.value(QStringLiteral("ok")).toBool()) {
      auto err = r.value(QStringLiteral("error")).toObject();
      if (err.value(QStringLiteral("code")).toString() == QStringLiteral("bad_request") &&
          err.value(QStringLiteral("message")).toString().contains(QStringLiteral("unknown op"))) {
        supported_ = false;
        state_->setText(tr("tunnels: not supported by this daemon"));
        terminate_->setEnabled(false);
        table_->setRowCount(0);
      } else {
        // The last list is no longer known to be true (a dead charon took its tunnels with
        // it): no rows are shown as if live, only how many there were and when.
        const int before = table_->rowCount();
        table_->setRowCount(0);
        samples_.clear();
        const auto when = listedAt_.isValid() ? QLocale().toString(listedAt_.time(), QLocale::ShortFormat) : QString();
        state_->setText(before > 0 ? tr("tunnels: %1 (the last list, at %2, had %3 tunnel(s))")
                                         .arg(replyError(r), when)
                                         .arg(before)
                                   : tr("tunnels: %1").arg(replyError(r)));
      }
      return;
    }
    terminate_->setEnabled(true);
    auto list = r.value(QStringLiteral("tunnels")).toArray();
    table_->setRowCount(static_cast<int>(list.size()));
    QLocale loc;
    const auto now = QDateTime::currentMSecsSinceEpoch();
    std::map<QString, Sample> seen;
    int row = 0;
    for (const auto& v : list) {
      auto o = v.toObject();
      auto str = [&](const char* k) { return o.value(QLatin1String(k)).toString(); };
      const auto in = static_cast<qint64>(o.value(QStringLiteral("bytes_in")).toDouble());
      const auto out = static_cast<qint64>(o.value(QStringLiteral("bytes_out")).toDouble());
      // One tunnel is one IKE SA: its id (or the user and outer address of an older daemon).
      const auto key = str("ike_id").isEmpty() ? str("user") + QLatin1Char('|') + str("outer") : str("ike_id");
      const auto prev = samples_.find(key);
      auto bytes = [&](qint64 now_, qint64 before) {
        auto text = loc.formattedDataSize(now_);
        if (prev == samples_.end() || now <= prev->second.millis || now_ < before) return text;
        const double rate = static_cast<double>(now_ - before) * 1000.0 / static_cast<double>(now - prev->second.millis);
        return tr("%1 (%2/s)").arg(text, loc.formattedDataSize(static_cast<qint64>(rate + 0.5)));
      };
      const auto since = daemonTime(o.value(QStringLiteral("since")));
      const QStringList cells{str("user"),
                              str("group"),
                              str("virtual_ip"),
                              str("outer"),
                              since.isValid() ? localDateTime(since) : QString(),
                              bytes(in, prev == samples_.end() ? 0 : prev->second.in),
                              bytes(out, prev == samples_.end() ? 0 : prev->second.out)};
      for (int c = 0; c < cells.size(); ++c) table_->setItem(row, c, new QTableWidgetItem(cells[c]));
      table_->item(row, 5)->setToolTip(tr("%1 bytes").arg(loc.toString(in)));
      table_->item(row, 6)->setToolTip(tr("%1 bytes").arg(loc.toString(out)));
      // A refresh right after another (a tunnel event, the button) measures against the older
      // sample: a rate over a few milliseconds says nothing.
      const bool keepOld = prev != samples_.end() && now - prev->second.millis < kMinRateMillis;
      seen[key] = keepOld ? prev->second : Sample{now, in, out};
      ++row;
    }
    samples_ = std::move(seen);  // tunnels that went away are forgotten
    listedAt_ = QDateTime::currentDateTime();
    state_->setText(tr("%1 tunnel(s)").arg(list.size()));
  });
}

}  // namespace bulwark::console
