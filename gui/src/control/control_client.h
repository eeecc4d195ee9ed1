#pragma once
// One connection to bulwarkd speaking the control protocol
// (gateway/include/bulwark/gateway/protocol.h): JSON objects, one per '\n'-terminated line.
// Requests carry an id; the one reply with that id goes to the request's callback. Lines
// without an id but with "event" are events (only after an `events` request).
//
// Non-blocking: everything runs from the device's readyRead in the caller's event loop, and a
// large reply (a `counters` reply of a 10,000-rule policy is about 1 MB) is parsed on a worker
// thread so the window keeps painting; replies find their callbacks by id, so they may
// complete out of order.
// The device may be a QLocalSocket (the Unix socket) or a QSslSocket (remote TLS); the
// client does not care which.
#include <QIODevice>
#include <QJsonObject>
#include <QObject>
#include <QPointer>

#include <functional>
#include <map>

#include "bulwark/gateway/protocol.h"

namespace bulwark::console {

class ControlClient : public QObject {
  Q_OBJECT
 public:
  using ReplyFn = std::function<void(const QJsonObject& reply)>;

  explicit ControlClient(QObject* parent = nullptr);

  // The transport; not owned (the Session owns sockets). Pending requests of a previous
  // device fail with "disconnected".
  void setDevice(QIODevice* device);
  [[nodiscard]] QIODevice* device() const { return device_; }

  // Sends {"id": n, "op": op, ...args}; returns n. The callback runs exactly once: with
  // the reply, or with {"ok": false, "error": {"code": "disconnected"}} when the device
  // goes away first.
  qint64 request(const QString& op, const QJsonObject& args, ReplyFn onReply) {
    return request(op, args, nullptr, std::move(onReply));
  }
  // The same, but the callback is skipped once `context` is destroyed (a view that closed
  // while its request was out; the reply or the failure then has nobody to tell).
  qint64 request(const QString& op, const QJsonObject& args, QObject* context, ReplyFn onReply);
  [[nodiscard]] std::size_t pending() const { return pending_.size(); }

  // Fails every pending request (the connection is gone).
  void failPending(const QString& message);

  // The wire form of one message (compact JSON + '\n').
  [[nodiscard]] static QByteArray frame(const QJsonObject& msg);

  // Feeds raw bytes (what readyRead delivers); public so the framing is testable without
  // a socket.
  void feed(const QByteArray& bytes);

 signals:
  void eventReceived(const QJsonObject& event);
  // A line that is not a JSON object, or a line longer than the protocol allows (the
  // stream cannot be resynchronised after that; the session drops the connection).
  void protocolError(const QString& why);

 private:
  void onReadyRead();
  void dispatch(const QByteArray& line);
  void deliver(const QJsonObject& obj, const QByteArray& line);

 public:
  static constexpr qsizetype kParseOffThreadBytes = 128 * 1024;

 private:
  QPointer<QIODevice> device_;
  QMetaObject::Connection readConn_;
  gateway::LineFramer framer_;
  qint64 nextId_ = 1;
  struct Pending {
    ReplyFn fn;
    QPointer<QObject> context;
    bool hasContext = false;
    void operator()(const QJsonObject& reply) const {
      if (!hasContext || context) fn(reply);
    }
  };
  std::map<qint64, Pending> pending_;
};

// An error reply's message ("code: message"), or "" for an ok reply.
[[nodiscard]] QString replyError(const QJsonObject& reply);

}  // namespace bulwark::console
