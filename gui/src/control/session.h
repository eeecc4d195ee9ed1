#pragma once
// The console's link to one bulwarkd: a request connection and a second connection that
// carries the event stream (the daemon keeps a subscribed connection for events only), the
// daemon's last `status` (who we are, our role), and reconnection every 2 s when the
// daemon goes away. Never blocks: connects, handshakes and replies all arrive as signals.
//
// It also holds the one countdown of a pending confirm (every view reads it; it ticks once a
// second and is set again from each `status`) and the words for how the last pending apply
// ended (confirmed, rolled back by someone, rolled back because the confirm window passed),
// from the events stream, the replies, or — when neither told — the revision's history record.
#include <QDeadlineTimer>
#include <QJsonObject>
#include <QObject>
#include <QTimer>

#include <memory>

#include "control/control_client.h"
#include "control/transport.h"

namespace bulwark::console {

class Session : public QObject {
  Q_OBJECT
 public:
  enum class State { Disconnected, Connecting, Connected };

  explicit Session(QObject* parent = nullptr);
  ~Session() override;

  void connectTo(const Endpoint& endpoint);
  void disconnectFromDaemon();

  // Sends a request on the request connection (see ControlClient::request).
  qint64 request(const QString& op, const QJsonObject& args, ControlClient::ReplyFn onReply);
  // With a context: the callback is skipped once `context` is gone (views pass themselves).
  qint64 request(const QString& op, const QJsonObject& args, QObject* context, ControlClient::ReplyFn onReply);
  void refreshStatus();

  [[nodiscard]] State state() const { return state_; }
  [[nodiscard]] const Endpoint& endpoint() const { return endpoint_; }
  [[nodiscard]] const QJsonObject& status() const { return status_; }
  [[nodiscard]] QString user() const;  // from status.you (or the TLS certificate)
  [[nodiscard]] QString role() const;  // "view" | "change" | ""
  [[nodiscard]] QString lastError() const { return lastError_; }
  [[nodiscard]] ControlClient& control() { return requests_; }

  // The revision awaiting confirmation (0: none) and its seconds left, counted down here.
  [[nodiscard]] int pendingRevision() const { return pendingRevision_; }
  [[nodiscard]] int pendingSecondsLeft() const;
  // How the last pending apply ended, in words ("" while one is pending or none ended yet).
  [[nodiscard]] QString pendingOutcome() const { return pendingOutcome_; }
  // What a reply already told (apply with confirm, confirm, rollback), before status or the
  // event stream repeat it.
  void notePending(int revision, int seconds);
  void notePendingEnded(int revision, const QString& words, bool provisional = false);

 signals:
  void stateChanged();
  void statusChanged(const QJsonObject& status);
  void eventReceived(const QJsonObject& event);
  // A pending confirm started, ticked (once a second) or ended.
  void pendingChanged();

 private:
  struct Link;
  // Creates the link's socket, stores it, then connects (a local connect may complete
  // synchronously, inside connectToServer). False when the TLS identity does not load.
  bool open(bool forEvents);
  void onLinkUp(bool forEvents);
  void onLinkDown(const QString& why);
  // Closes both links; whatever their old sockets still signal is ignored.
  void dropLinks();
  void setState(State s);
  void onEvent(const QJsonObject& event);
  void trackPending(const QJsonObject& status);
  void askHistoryHowItEnded(int revision);

  int pendingRevision_ = 0;
  QDeadlineTimer pendingDeadline_;
  int endedRevision_ = 0;  // the last pending revision that ended
  bool provisional_ = false;  // it ended, but nothing said how yet
  QString pendingOutcome_;
  QTimer pendingTick_;
  // A part can fail without an event (a drift check whose plan fails): status is asked again
  // every kStatusPollMs while connected.
  QTimer statusPoll_;
  bool statusInFlight_ = false;

 public:
  static constexpr int kStatusPollMs = 5000;

  Endpoint endpoint_;
  State state_ = State::Disconnected;
  QJsonObject status_;
  QString lastError_;
  QString tlsSubject_;
  ControlClient requests_;
  ControlClient events_;
  std::unique_ptr<Link> reqLink_, evLink_;
  bool reqUp_ = false, evUp_ = false, wanted_ = false;
  int generation_ = 0;  // bumped per connect: late signals of old sockets are ignored
  QTimer retry_;
};

}  // namespace bulwark::console
