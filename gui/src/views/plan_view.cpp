#include "views/plan_view.h"

#include <algorithm>

#include <QComboBox>
#include <QFutureWatcher>
#include <QtConcurrent/QtConcurrentRun>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QJsonArray>
#include <QLabel>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QVBoxLayout>

#include "control/session.h"
#include "policy/policy_document.h"
#include "views/change_highlighter.h"

namespace bulwark::console {

namespace {

QStringList strings(const QJsonValue& v) {
  QStringList out;
  for (const auto& x : v.toArray()) out << x.toString();
  return out;
}

// "firewall: in sync", "firewall: 3 change(s) as set element updates", ...
QString kindHeadline(const QJsonObject& k) {
  const auto changes = k.value(QStringLiteral("changes")).toArray();
  const bool inSync = k.value(QStringLiteral("in_sync")).toBool(!k.value(QStringLiteral("changed")).toBool(true));
  return QStringLiteral("%1: %2").arg(
      k.value(QStringLiteral("kind")).toString(),
      inSync ? PlanView::tr("in sync")
             : PlanView::tr("%1 change(s) as %2")
                   .arg(changes.size())
                   .arg(k.value(QStringLiteral("incremental")).toBool() ? PlanView::tr("set element updates")
                        : k.value(QStringLiteral("partial")).toBool()   ? PlanView::tr("a rewrite of the changed chains")
                                                                        : PlanView::tr("one atomic replacement")));
}

bool replyOk(const QJsonObject& r) { return r.value(QStringLiteral("ok")).toBool(); }

// Nothing to apply: this node in sync, and the peer too when the reply names one.
bool planInSync(const QJsonObject& r) {
  const auto peer = r.value(QStringLiteral("peer"));
  return r.value(QStringLiteral("in_sync")).toBool() &&
         (!peer.isObject() || peer.toObject().value(QStringLiteral("in_sync")).toBool());
}

}  // namespace

PlanView::PlanView(Session* session, PolicyDocument* doc, QWidget* parent)
    : QWidget(parent), session_(session), doc_(doc) {
  planBtn_ = new QPushButton(tr("Plan"));
  applyBtn_ = new QPushButton(tr("Apply with confirm"));
  confirmBtn_ = new QPushButton(tr("Confirm"));
  rollbackBtn_ = new QPushButton(tr("Roll back"));
  confirmSeconds_ = new QSpinBox;
  confirmSeconds_->setRange(10, 3600);
  confirmSeconds_->setValue(120);
  confirmSeconds_->setSuffix(tr(" s"));
  // Which part to plan and apply: all, or one kind the daemon runs (its status lists them), so
  // a part that cannot be applied here never blocks the others.
  parts_ = new QComboBox;
  parts_->setObjectName(QStringLiteral("planParts"));
  parts_->addItem(tr("all parts"), QString());
  parts_->setToolTip(tr("Plan and apply this part alone; the others stay as they are"));
  state_ = new QLabel(tr("no plan yet"));
  progress_ = new QProgressBar;
  progress_->setRange(0, 0);  // busy indicator: the daemon gives no fraction done
  progress_->setMaximumWidth(120);
  progress_->hide();
  auto* bar = new QHBoxLayout;
  bar->addWidget(parts_);
  bar->addWidget(planBtn_);
  bar->addWidget(applyBtn_);
  bar->addWidget(new QLabel(tr("confirm within")));
  bar->addWidget(confirmSeconds_);
  bar->addWidget(confirmBtn_);
  bar->addWidget(rollbackBtn_);
  bar->addWidget(progress_);
  bar->addWidget(state_, 1);
  auto pane = [](const QString& name) {
    auto* t = new QPlainTextEdit;
    t->setObjectName(name);
    t->setReadOnly(true);
    t->setLineWrapMode(QPlainTextEdit::WidgetWidth);  // 250-character nft lines wrap, never cut
    t->setWordWrapMode(QTextOption::WrapAtWordBoundaryOrAnywhere);
    t->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    new ChangeHighlighter(t->document());
    return t;
  };
  effect_ = pane(QStringLiteral("planEffect"));
  effect_->setPlaceholderText(tr("What changes, in policy terms: Plan"));
  text_ = pane(QStringLiteral("planText"));
  // What changes first, the kernel's commands below it.
  auto* split = new QSplitter(Qt::Vertical);
  split->setObjectName(QStringLiteral("planSplit"));
  split->addWidget(effect_);
  split->addWidget(text_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  auto* lay = new QVBoxLayout(this);
  lay->addLayout(bar);
  lay->addWidget(split, 1);
  confirmBtn_->setEnabled(false);
  rollbackBtn_->setEnabled(false);

  connect(planBtn_, &QPushButton::clicked, this, &PlanView::requestPlan);
  connect(applyBtn_, &QPushButton::clicked, this, &PlanView::applyAsking);
  connect(confirmBtn_, &QPushButton::clicked, this, &PlanView::confirmPending);
  connect(rollbackBtn_, &QPushButton::clicked, this, &PlanView::rollBackPending);
  connect(session_, &Session::pendingChanged, this, &PlanView::onPending);
  connect(session_, &Session::statusChanged, this, &PlanView::updateParts);
}

void PlanView::updateParts(const QJsonObject& status) {
  QStringList kinds;
  for (const auto& k : status.value(QStringLiteral("kinds")).toArray()) {
    kinds << k.toObject().value(QStringLiteral("kind")).toString();
  }
  QStringList have;
  for (int i = 1; i < parts_->count(); ++i) have << parts_->itemData(i).toString();
  if (kinds.isEmpty() || kinds == have) return;
  const QString chosen = parts_->currentData().toString();
  while (parts_->count() > 1) parts_->removeItem(1);
  for (const auto& k : kinds) parts_->addItem(tr("%1 only").arg(k), k);
  const int at = parts_->findData(chosen);
  parts_->setCurrentIndex(at < 0 ? 0 : at);
}

void PlanView::setPart(const QString& kind) {
  const int at = parts_->findData(kind);
  if (at >= 0) parts_->setCurrentIndex(at);
}

QString PlanView::part() const { return parts_->currentData().toString(); }

QJsonObject PlanView::requestArgs() const {
  QJsonObject args{{"sources", doc_->sourcesJson()}};
  if (!part().isEmpty()) args.insert(QStringLiteral("parts"), QJsonArray{part()});
  return args;
}

int PlanView::pendingRevision() const { return session_->pendingRevision(); }

QString PlanView::stateText() const { return state_->text(); }

void PlanView::setBusy(bool on) {
  busy_ += on ? 1 : -1;
  progress_->setVisible(busy_ > 0);
  planBtn_->setEnabled(busy_ == 0);
  applyBtn_->setEnabled(busy_ == 0 && session_->pendingRevision() == 0);
}

void PlanView::showReply(const QString& title, const QJsonObject& r) {
  QStringList out;
  out << QStringLiteral("== %1 ==").arg(title);
  if (!r.value(QStringLiteral("ok")).toBool()) {
    auto err = r.value(QStringLiteral("error")).toObject();
    out << tr("refused: %1: %2").arg(err.value(QStringLiteral("code")).toString(), err.value(QStringLiteral("message")).toString());
    out << strings(err.value(QStringLiteral("diagnostics")));
    text_->setPlainText(out.join(QLatin1Char('\n')));
    return;
  }
  if (r.contains(QStringLiteral("summary"))) out << r.value(QStringLiteral("summary")).toString();
  for (const auto& kv : r.value(QStringLiteral("kinds")).toArray()) {
    auto k = kv.toObject();
    out << QStringLiteral("== %1 ==").arg(kindHeadline(k));
    for (const auto& c : strings(k.value(QStringLiteral("changes")))) out << QStringLiteral("  ") + c;
    auto cmds = strings(k.value(QStringLiteral("commands")));
    if (!cmds.isEmpty()) {
      out << QStringLiteral("  -- nft --");
      for (const auto& c : cmds) out << QStringLiteral("  ") + c;
    }
  }
  auto warnings = strings(r.value(QStringLiteral("warnings")));
  if (!warnings.isEmpty()) out << QStringLiteral("== warnings ==") << warnings;
  text_->setPlainText(out.join(QLatin1Char('\n')));
}

// The reply's review: the change in policy terms and its effect (the daemon's text, as
// `bulwarkctl plan` prints it), or why the applied policy is unknown.
void PlanView::showReview(const QJsonObject& r) {
  if (!r.value(QStringLiteral("ok")).toBool()) {
    effect_->clear();
    return;
  }
  const auto review = r.value(QStringLiteral("review")).toObject();
  if (review.isEmpty()) {
    effect_->setPlainText(tr("This daemon sends no change in policy terms: the kernel plan only (below)."));
  } else if (!review.value(QStringLiteral("known")).toBool()) {
    effect_->setPlainText(tr("What changes in policy terms is unknown: %1. The kernel plan only (below).")
                              .arg(review.value(QStringLiteral("reason")).toString()));
  } else {
    effect_->setPlainText(review.value(QStringLiteral("text")).toString());
  }
}

void PlanView::requestPlan() { planThen(requestArgs(), nullptr); }

void PlanView::planThen(const QJsonObject& args, const std::function<void(const QJsonObject&)>& then) {
  setBusy(true);
  state_->setText(tr("planning…"));
  session_->request(QStringLiteral("plan"), args, this, [this, args, then](const QJsonObject& r) {
    setBusy(false);
    showReview(r);
    showReply(tr("in the kernel: the edited policy's plan"), r);
    plannedArgs_ = replyOk(r) ? args : QJsonObject{};
    plannedReview_ = replyOk(r) ? effect_->toPlainText() : QString();
    state_->setText(replyOk(r) ? (planInSync(r) ? tr("in sync: nothing to apply") : tr("plan ready"))
                               : replyError(r).section(QLatin1Char('\n'), 0, 0));
    emit planShown();
    if (then) then(r);
  });
}

void PlanView::applyAsking() {
  const int seconds = confirmSeconds_->value();
  const QJsonObject args = requestArgs();
  planThen(args, [this, args, seconds](const QJsonObject& r) {
    if (!replyOk(r) || planInSync(r)) return;  // the state line says why, or that all is in sync
    const QString part = args.value(QStringLiteral("parts")).toArray().first().toString();
    const QString question = applyQuestion(r, part, seconds);
    const bool yes = applyPrompt_ ? applyPrompt_(tr("Apply"), question)
                                  : QMessageBox::question(this, tr("Apply"), question, QMessageBox::Yes | QMessageBox::No,
                                                          QMessageBox::No) == QMessageBox::Yes;
    if (!yes) {
      state_->setText(tr("not applied: plan ready"));
      return;
    }
    applyArgs(args, seconds);
  });
}

void PlanView::applyWithConfirm(int seconds) { applyArgs(requestArgs(), seconds); }

void PlanView::applyArgs(QJsonObject args, int seconds) {
  setBusy(true);
  revisionBeforeApply_ = session_->status().value(QStringLiteral("revision")).toInt();
  state_->setText(tr("applying…"));
  // The review pane speaks of this apply only when it was planned from the same request.
  const QString planned = args == plannedArgs_ ? plannedReview_ : QString();
  plannedArgs_ = {};
  plannedReview_.clear();
  args.insert(QStringLiteral("confirm"), seconds);
  // The commit the text comes from goes with it (History names it), read off the GUI thread;
  // an in-memory policy has none.
  const auto root = doc_->rootPath();
  if (root.isEmpty()) {
    sendApply(args, seconds, planned);
    return;
  }
  auto* claim = new QFutureWatcher<QString>(this);
  connect(claim, &QFutureWatcher<QString>::finished, this, [this, claim, args, seconds, planned]() mutable {
    const auto commit = claim->result();
    claim->deleteLater();
    if (!commit.isEmpty()) args.insert(QStringLiteral("git_commit"), commit);
    sendApply(args, seconds, planned);
  });
  // The texts this request sends (planned before the question; the editor may have moved on).
  auto files = doc_->workingFiles();
  for (auto& f : files) {
    for (const auto& v : args.value(QStringLiteral("sources")).toArray()) {
      const auto o = v.toObject();
      if (o.value(QStringLiteral("name")).toString() == f.name) f.text = o.value(QStringLiteral("text")).toString();
    }
  }
  claim->setFuture(QtConcurrent::run(&commitClaim, root, std::move(files)));
}

void PlanView::sendApply(const QJsonObject& args, int seconds, const QString& planned) {
  session_->request(QStringLiteral("apply"), args, this, [this, seconds, planned](const QJsonObject& r) {
    setBusy(false);
    showReply(tr("apply"), r);
    if (!replyOk(r)) {
      state_->setText(replyError(r).section(QLatin1Char('\n'), 0, 0));
      effect_->setPlainText(planned.isEmpty() ? QString()
                                              : tr("Not applied (the refusal is below). The plan was:\n\n%1").arg(planned));
      emit message(tr("apply refused: %1").arg(replyError(r)));
    } else if (r.value(QStringLiteral("changed")).toBool()) {
      const int rev = r.value(QStringLiteral("revision")).toInt();
      effect_->setPlainText(
          planned.isEmpty()
              ? tr("Applied as revision %1 without a plan of this text here: what it changed in policy terms is not shown.")
                    .arg(rev)
              : tr("Applied as revision %1 (confirm within %2 s or it rolls back). What it changed:\n\n%3")
                    .arg(rev)
                    .arg(seconds)
                    .arg(planned));
      session_->notePending(rev, seconds);
    } else {
      effect_->setPlainText(tr("Nothing applied: the gateway already runs this policy."));
      state_->setText(r.value(QStringLiteral("summary")).toString());
    }
    session_->refreshStatus();
    emit applied(r);
  });
}

void PlanView::confirmPending() {
  setBusy(true);
  session_->request(QStringLiteral("confirm"), {}, this, [this](const QJsonObject& r) {
    setBusy(false);
    if (!r.value(QStringLiteral("ok")).toBool()) {
      emit message(tr("confirm: %1").arg(replyError(r)));
      return;
    }
    const int rev = r.value(QStringLiteral("revision")).toInt(session_->pendingRevision());
    session_->notePendingEnded(rev, tr("revision %1 confirmed").arg(rev));
    session_->refreshStatus();
    emit confirmed();
  });
}

void PlanView::rollBackPending() {
  if (revisionBeforeApply_ <= 0) {
    emit message(tr("no earlier revision to roll back to"));
    return;
  }
  setBusy(true);
  const int pending = session_->pendingRevision();
  session_->request(QStringLiteral("rollback"), {{"revision", revisionBeforeApply_}}, this, [this, pending](const QJsonObject& r) {
    setBusy(false);
    showReply(tr("rollback to revision %1").arg(revisionBeforeApply_), r);
    if (r.value(QStringLiteral("ok")).toBool()) {
      session_->notePendingEnded(pending, tr("revision %1 rolled back: the gateway runs revision %2 (the policy of revision %3)")
                                              .arg(pending)
                                              .arg(r.value(QStringLiteral("revision")).toInt())
                                              .arg(revisionBeforeApply_));
    } else {
      state_->setText(replyError(r).section(QLatin1Char('\n'), 0, 0));
    }
    session_->refreshStatus();
  });
}

void PlanView::onPending() {
  const int rev = session_->pendingRevision();
  if (rev != 0) {
    state_->setText(tr("revision %1 pending: confirm within %2 s or it rolls back").arg(rev).arg(session_->pendingSecondsLeft()));
  } else if (!session_->pendingOutcome().isEmpty()) {
    state_->setText(session_->pendingOutcome());
  }
  confirmBtn_->setEnabled(rev != 0);
  rollbackBtn_->setEnabled(rev != 0);
  applyBtn_->setEnabled(busy_ == 0 && rev == 0);
}

QString applyQuestion(const QJsonObject& r, const QString& part, int seconds, int maxLines) {
  QStringList out;
  out << (part.isEmpty() ? PlanView::tr("Apply the edited policy to the gateway?")
                         : PlanView::tr("Apply the edited policy's %1 part alone? The other parts stay as they are.").arg(part));
  out << PlanView::tr("It rolls back by itself unless confirmed within %1 s.").arg(seconds) << QString()
      << PlanView::tr("What changes:");
  for (const auto& kv : r.value(QStringLiteral("kinds")).toArray()) out << QStringLiteral("  ") + kindHeadline(kv.toObject());
  const auto review = r.value(QStringLiteral("review")).toObject();
  if (review.value(QStringLiteral("known")).toBool()) {
    // The review's text without its title line ("Policy change A → B").
    QStringList lines = review.value(QStringLiteral("text")).toString().split(QLatin1Char('\n'));
    if (!lines.isEmpty()) lines.removeFirst();
    while (!lines.isEmpty() && lines.constFirst().trimmed().isEmpty()) lines.removeFirst();
    while (!lines.isEmpty() && lines.constLast().trimmed().isEmpty()) lines.removeLast();
    if (!lines.isEmpty()) out << QString();
    const int shown = std::min<int>(maxLines, static_cast<int>(lines.size()));
    out << lines.mid(0, shown);
    if (lines.size() > shown) out << PlanView::tr("… %1 more line(s): the Plan view shows them all").arg(lines.size() - shown);
  } else if (!review.isEmpty()) {
    out << QString()
        << PlanView::tr("What changes in policy terms is unknown: %1").arg(review.value(QStringLiteral("reason")).toString());
  }
  return out.join(QLatin1Char('\n'));
}

}  // namespace bulwark::console
