#pragma once
// Plan, apply with a confirm countdown, Confirm / Roll back.
//
// Plan sends the edited sources (`plan {sources}`) and shows what would change: first in policy
// terms -- the reply's `review` (review/plan_review.h: the change from the running revision's
// policy and its effect on flows, newly allowed / denied / redirected, by which rule), the
// same words `bulwarkctl plan` prints -- then, below, in the kernel kind by kind: its change
// list and the nft commands. Long lines wrap. Apply sends `apply {sources, confirm}`;
// while the revision is pending the Session's countdown (the one the state bar shows, set from
// the daemon's `status.pending`) runs here too and Confirm / Roll back are offered; when it
// ends the label says how (confirmed, rolled back, not confirmed in time). Requests show a busy
// bar and never block the window. A part selector (all, or one kind the daemon's status lists)
// sends `parts`: that part alone is planned and applied, the others stay as they are.
#include <QJsonObject>
#include <QWidget>

class QComboBox;
class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace bulwark::console {

class PolicyDocument;
class Session;

class PlanView : public QWidget {
  Q_OBJECT
 public:
  PlanView(Session* session, PolicyDocument* doc, QWidget* parent = nullptr);

  void requestPlan();
  void applyWithConfirm(int seconds);
  void confirmPending();
  void rollBackPending();

  // The kernel part (kinds, nft commands) and the policy part (what changes) above it.
  [[nodiscard]] QPlainTextEdit* planText() const { return text_; }
  [[nodiscard]] QPlainTextEdit* effectText() const { return effect_; }
  [[nodiscard]] int pendingRevision() const;
  [[nodiscard]] QString stateText() const;
  [[nodiscard]] bool busy() const { return busy_ > 0; }
  // The part planned and applied: a kind's name, or empty for all.
  [[nodiscard]] QString part() const;
  void setPart(const QString& kind);

 signals:
  void message(const QString& text);
  void planShown();
  void applied(const QJsonObject& reply);
  void confirmed();

 private:
  void onPending();
  void updateParts(const QJsonObject& status);
  [[nodiscard]] QJsonObject requestArgs() const;  // sources, and parts when one is chosen
  void setBusy(bool on);
  void showReply(const QString& title, const QJsonObject& reply);
  void showReview(const QJsonObject& reply);

  Session* session_;
  PolicyDocument* doc_;
  QPlainTextEdit* text_;
  QPlainTextEdit* effect_;
  QLabel* state_;
  QProgressBar* progress_;
  QPushButton *planBtn_, *applyBtn_, *confirmBtn_, *rollbackBtn_;
  QSpinBox* confirmSeconds_;
  QComboBox* parts_;
  int busy_ = 0;
  int revisionBeforeApply_ = 0;
};

}  // namespace bulwark::console
