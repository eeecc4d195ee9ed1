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
// ends the label says how (confirmed, rolled back, not confirmed in time). The Apply button
// asks once first: it plans the text as it is now, shows that plan, and names what the apply
// changes (each part's changes, the change in policy terms) in one question; nothing is sent
// unless the answer is yes, and then exactly the text that was planned. After an apply the
// policy-terms pane keeps that review, headed by the revision it became, so it never reads as
// a plan still to apply. Requests show a busy bar and never block the window. A part selector (all, or one kind the daemon's status lists)
// sends `parts`: that part alone is planned and applied, the others stay as they are. An apply
// of a Git working copy's text carries its commit (`git_commit`: HEAD, "-dirty" when the
// editor's text differs from HEAD's), which the gateway records with the revision.
#include <QJsonObject>
#include <QWidget>

#include <functional>

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
  // The Apply button: plan, ask (naming what changes), apply what was planned on yes.
  void applyAsking();
  // Apply the editor's text now, without asking (the answer's own path, and tests).
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
  // Asks the apply question (title, text); true applies. Default: a Yes/No message box.
  using ApplyPrompt = std::function<bool(const QString& title, const QString& text)>;
  void setApplyPrompt(ApplyPrompt p) { applyPrompt_ = std::move(p); }

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
  // Plan `args`; `then` gets the reply after the panes show it.
  void planThen(const QJsonObject& args, const std::function<void(const QJsonObject&)>& then);
  void applyArgs(QJsonObject args, int seconds);
  // The apply request itself, with its Git commit (when the working copy has one) added.
  void sendApply(const QJsonObject& args, int seconds, const QString& planned);

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
  ApplyPrompt applyPrompt_;
  // The request (sources, parts) the review pane was planned from, and its review text: an
  // apply of the same request keeps that review as what the revision changed.
  QJsonObject plannedArgs_;
  QString plannedReview_;
};

// The apply question's text for a plan reply: the parts and what each changes, then the
// change in policy terms (the review's text past its title line, at most `maxLines` lines).
[[nodiscard]] QString applyQuestion(const QJsonObject& planReply, const QString& part, int seconds,
                                    int maxLines = 24);

}  // namespace bulwark::console
