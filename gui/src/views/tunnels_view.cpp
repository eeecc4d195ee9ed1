#include "views/tunnels_view.h"

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

namespace bulwark::console {

TunnelsView::TunnelsView(Session* session, QWidget* parent) : QWidget(parent), session_(session) {
  table_ = new QTableWidget(0, 7);
  table_->setHorizontalHeaderLabels({tr("user"), tr("group"), tr("virtual IP"), tr("outer"), tr("since"), tr("bytes in"), tr("bytes out")});
  table_->horizontalHeader()->setStretchLastSection(true);
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
        state_->setText(tr("tunnels: %1").arg(replyError(r)));
      }
      return;
    }
    terminate_->setEnabled(true);
    auto list = r.value(QStringLiteral("tunnels")).toArray();
    table_->setRowCount(static_cast<int>(list.size()));
    QLocale loc;
    int row = 0;
    for (const auto& v : list) {
      auto o = v.toObject();
      auto num = [&](const char* k) { return loc.toString(o.value(QLatin1String(k)).toDouble(), 'f', 0); };
      auto str = [&](const char* k) {
        auto x = o.value(QLatin1String(k));
        return x.isString() ? x.toString() : x.isDouble() ? QString::number(x.toDouble(), 'f', 0) : QString();
      };
      const QStringList cells{str("user"), str("group"), str("virtual_ip"), str("outer"), str("since"), num("bytes_in"), num("bytes_out")};
      for (int c = 0; c < cells.size(); ++c) table_->setItem(row, c, new QTableWidgetItem(cells[c]));
      ++row;
    }
    state_->setText(tr("%1 tunnel(s)").arg(list.size()));
  });
}

}  // namespace bulwark::console
