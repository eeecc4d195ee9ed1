#include "views/state_bar.h"

#include <QHBoxLayout>
#include <QLabel>

#include "control/session.h"

namespace bulwark::console {

StateBar::StateBar(Session* session, QWidget* parent) : QWidget(parent), session_(session) {
  dot_ = new QLabel(QStringLiteral("●"));
  label_ = new QLabel;
  label_->setObjectName(QStringLiteral("stateText"));
  label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* lay = new QHBoxLayout(this);
  lay->setContentsMargins(6, 2, 6, 2);
  lay->addWidget(dot_);
  lay->addWidget(label_, 1);
  connect(session_, &Session::stateChanged, this, &StateBar::update);
  connect(session_, &Session::statusChanged, this, &StateBar::update);
  update();
}

QString StateBar::text() const { return label_->text(); }

void StateBar::update() {
  QString color, text;
  const auto where = session_->endpoint().describe();
  switch (session_->state()) {
    case Session::State::Disconnected:
      color = QStringLiteral("#b01c1c");
      text = session_->endpoint().socketPath.isEmpty() && session_->endpoint().host.isEmpty()
                 ? tr("not connected")
                 : tr("disconnected from %1").arg(where);
      if (!session_->lastError().isEmpty()) text += QStringLiteral(" — ") + session_->lastError();
      break;
    case Session::State::Connecting:
      color = QStringLiteral("#d09000");
      text = tr("connecting to %1…").arg(where);
      break;
    case Session::State::Connected: {
      color = QStringLiteral("#1b7f2a");
      const auto& st = session_->status();
      auto role = session_->role();
      text = tr("connected to %1 as %2 (role: %3)")
                 .arg(where, session_->user().isEmpty() ? tr("?") : session_->user(),
                      role.isEmpty() ? tr("?") : role == QStringLiteral("view") ? tr("view only") : role);
      if (st.contains(QStringLiteral("revision"))) text += tr(" · revision %1").arg(st.value(QStringLiteral("revision")).toInt());
      auto p = st.value(QStringLiteral("pending")).toObject();
      if (!p.isEmpty()) {
        text += tr(" · revision %1 pending confirm (%2 s left)")
                    .arg(p.value(QStringLiteral("revision")).toInt())
                    .arg(p.value(QStringLiteral("seconds_left")).toInt());
      }
      if (!session_->lastError().isEmpty()) text += QStringLiteral(" — ") + session_->lastError();
      break;
    }
  }
  dot_->setStyleSheet(QStringLiteral("color: %1; font-size: 14pt;").arg(color));
  label_->setText(text);
}

}  // namespace bulwark::console
