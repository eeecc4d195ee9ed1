#pragma once
// Review: the editor's working copy (unsaved edits included) against the policy repository's
// HEAD, as `bulwarkctl diff` says it -- the change in policy terms with file:line, then the
// exact effect on flows (newly allowed / denied / redirected, by which rule), then the
// invariants touched (policy/policy_review.h). Runs on a worker thread, one at a time (an
// edit made meanwhile is reviewed when the run ends); the view stops waiting after
// timeoutMillis() and says so (the run itself is bounded by the policy's size bounds).
// Reviewed when the view is shown and on "Review against HEAD".
#include <QElapsedTimer>
#include <QFutureWatcher>
#include <QTimer>
#include <QWidget>

#include "policy/policy_review.h"

class QLabel;
class QPlainTextEdit;
class QPushButton;

namespace bulwark::console {

class PolicyDocument;

class ReviewView : public QWidget {
  Q_OBJECT
 public:
  explicit ReviewView(PolicyDocument* doc, QWidget* parent = nullptr);
  ~ReviewView() override;

  void requestReview();
  [[nodiscard]] QPlainTextEdit* reviewText() const { return text_; }
  [[nodiscard]] QString stateText() const;
  [[nodiscard]] bool running() const { return watcher_.isRunning(); }
  [[nodiscard]] int timeoutMillis() const { return deadline_.interval(); }
  void setTimeoutMillis(int ms) { deadline_.setInterval(ms); }
  static constexpr int kDefaultTimeoutMillis = 30000;

 signals:
  void reviewShown();  // a result, an error or the timeout is on screen

 protected:
  void showEvent(QShowEvent* e) override;

 private:
  void onDone();
  void onDeadline();

  PolicyDocument* doc_;
  QPlainTextEdit* text_;
  QLabel* state_;
  QPushButton* reviewBtn_;
  QFutureWatcher<PolicyReview> watcher_;
  QTimer deadline_;
  QElapsedTimer started_;
  bool again_ = false;     // an edit came while a run was going
  bool gaveUp_ = false;    // the deadline passed: the late result is not shown
};

}  // namespace bulwark::console
