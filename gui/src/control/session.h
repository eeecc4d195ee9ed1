#pragma once
// The console's link to one bulwarkd: a request connection and a second connection that
// carries the event stream (the daemon keeps a subscribed connection for events only), the
// daemon's last `status` (who we are, our role), and reconnection every 2 s when the
// daemon goes away. Never blocks: connects, handshakes and replies all arrive as signals.
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

 signals:
  void stateChanged();
  void statusChanged(const QJsonObject& status);
  void eventReceived(const QJsonObject& event);

 private:
  struct Link;
  // Creates the link's socket, stores it, then connects (a local connect may complete
  // synchronously, inside connectToServer). False when the TLS identity does not load.
  bool open(bool forEvents);
  void onLinkUp(bool forEvents);
  void onLinkDown(const QString& why);
  void setState(State s);

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
