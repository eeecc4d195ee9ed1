#include "views/state_bar.h"

#include <QDateTime>
#include <QHBoxLayout>
#include <QJsonObject>
#include <QLabel>
#include <QTextDocument>
#include <QVBoxLayout>

#include "control/gateway_health.h"
#include "control/session.h"
#include "views/local_time.h"

namespace bulwark::console {

namespace {

const char* colorOf(StateBar::Health h) {
  switch (h) {
    case StateBar::Health::Green: return "#1b7f2a";
    case StateBar::Health::Amber: return "#d09000";
    case StateBar::Health::Red: return "#b01c1c";
  }
  return "#b01c1c";
}

QString elided(const QString& s, int n) { return s.size() <= n ? s : s.left(n - 1) + QChar(0x2026); }

// Events worth a line in the bar: changes to what the gateway runs and its parts' troubles.
bool notable(const QString& name) {
  return name != QStringLiteral("revoke") && name != QStringLiteral("tunnel");
}

}  // namespace

StateBar::StateBar(Session* session, QWidget* parent) : QWidget(parent), session_(session) {
  dot_ = new QLabel(QStringLiteral("●"));
  label_ = new QLabel;
  label_->setObjectName(QStringLiteral("stateText"));
  label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  parts_ = new QLabel;
  parts_->setObjectName(QStringLiteral("stateParts"));
  parts_->setTextFormat(Qt::RichText);
  parts_->setWordWrap(true);
  activity_ = new QLabel;
  activity_->setObjectName(QStringLiteral("stateActivity"));
  activity_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* top = new QHBoxLayout;
  top->addWidget(dot_);
  top->addWidget(label_, 1);
  auto* second = new QHBoxLayout;
  second->addWidget(parts_, 3);
  second->addWidget(activity_, 2);
  auto* lay = new QVBoxLayout(this);
  lay->setContentsMargins(6, 2, 6, 2);
  lay->setSpacing(1);
  lay->addLayout(top);
  lay->addLayout(second);
  connect(session_, &Session::stateChanged, this, &StateBar::update);
  connect(session_, &Session::statusChanged, this, &StateBar::update);
  connect(session_, &Session::pendingChanged, this, &StateBar::update);
  connect(session_, &Session::eventReceived, this, &StateBar::onEvent);
  update();
}

QString StateBar::text() const { return label_->text(); }

QString StateBar::partsText() const {
  QTextDocument d;
  d.setHtml(parts_->text());
  return d.toPlainText();
}

QString StateBar::activityText() const { return activity_->text(); }

void StateBar::onEvent(const QJsonObject& ev) {
  const auto name = ev.value(QStringLiteral("event")).toString();
  if (!notable(name)) return;
  auto when = daemonTime(ev.value(QStringLiteral("time")));
  if (!when.isValid()) when = QDateTime::currentDateTime();
  const auto words = eventWords(ev);
  activity_->setText(tr("last: %1 %2").arg(when.toLocalTime().toString(QStringLiteral("HH:mm:ss")), elided(words, kMaxErrorChars)));
  activity_->setToolTip(words);
}

void StateBar::update() {
  QString text;
  QStringList partsHtml, tips;
  const auto where = session_->endpoint().describe();
  switch (session_->state()) {
    case Session::State::Disconnected:
      health_ = Health::Red;
      text = session_->endpoint().socketPath.isEmpty() && session_->endpoint().host.isEmpty()
                 ? tr("not connected")
                 : tr("disconnected from %1").arg(where);
      if (!session_->lastError().isEmpty()) text += QStringLiteral(" — ") + session_->lastError();
      break;
    case Session::State::Connecting:
      health_ = Health::Amber;
      text = tr("connecting to %1…").arg(where);
      break;
    case Session::State::Connected: {
      const auto& st = session_->status();
      auto role = session_->role();
      text = tr("connected to %1 as %2 (role: %3)")
                 .arg(where, session_->user().isEmpty() ? tr("?") : session_->user(),
                      role.isEmpty() ? tr("?") : role == QStringLiteral("view") ? tr("view only") : role);
      if (st.contains(QStringLiteral("revision"))) text += tr(" · revision %1").arg(st.value(QStringLiteral("revision")).toInt());
      if (session_->pendingRevision() != 0) {
        text += tr(" · revision %1 pending confirm (%2 s left)").arg(session_->pendingRevision()).arg(session_->pendingSecondsLeft());
      } else if (!session_->pendingOutcome().isEmpty()) {
        text += QStringLiteral(" · ") + session_->pendingOutcome();
      }
      bool bad = false;
      for (const auto& p : gatewayParts(st)) {
        bad = bad || p.bad();
        const char* c = colorOf(p.bad() ? Health::Amber : Health::Green);
        auto words = p.bad() ? QStringLiteral("%1 %2: %3").arg(p.name, p.state, elided(p.error, kMaxErrorChars))
                             : QStringLiteral("%1 %2").arg(p.name, p.state);
        partsHtml << QStringLiteral("<span style=\"color:%1\">●</span> %2").arg(QLatin1String(c), words.toHtmlEscaped());
        if (p.bad()) tips << QStringLiteral("%1: %2").arg(p.name, p.error);
      }
      health_ = bad ? Health::Amber : Health::Green;
      if (!session_->lastError().isEmpty()) {
        health_ = Health::Amber;
        text += QStringLiteral(" — ") + session_->lastError();
      }
      break;
    }
  }
  dot_->setStyleSheet(QStringLiteral("color: %1; font-size: 14pt;").arg(QLatin1String(colorOf(health_))));
  dot_->setToolTip(health_ == Health::Green ? tr("every part reports ok") : tips.join(QLatin1Char('\n')));
  label_->setText(text);
  parts_->setText(partsHtml.join(QStringLiteral(" &nbsp;·&nbsp; ")));
  parts_->setToolTip(tips.join(QLatin1Char('\n')));
}

}  // namespace bulwark::console
