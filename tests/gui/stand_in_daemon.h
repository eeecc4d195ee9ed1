#pragma once
// A bulwarkd stand-in for the console's view tests: a QLocalServer speaking the control
// protocol's framing (one JSON object per line), answering each op from a handler the test
// sets (default: ok) and `status` from a status object the test changes as it goes; it
// pushes events to the connections that asked for `events`, as bulwarkd does.
#include <QJsonDocument>
#include <QJsonObject>
#include <QList>
#include <QLocalServer>
#include <QLocalSocket>
#include <QMap>
#include <QPointer>

#include <functional>

namespace bulwark::console::testing {

class StandInDaemon : public QObject {
 public:
  using Handler = std::function<QJsonObject(const QJsonObject& request)>;

  explicit StandInDaemon(const QString& path) {
    QLocalServer::removeServer(path);
    server_.listen(path);
    connect(&server_, &QLocalServer::newConnection, this, [this] {
      while (auto* s = server_.nextPendingConnection()) {
        connect(s, &QLocalSocket::readyRead, s, [this, s] {
          while (s->canReadLine()) answer(s, QJsonDocument::fromJson(s->readLine()).object());
        });
      }
    });
  }

  // The body of the `status` reply (besides id and ok).
  void setStatus(const QJsonObject& status) { status_ = status; }
  // The reply body (besides id) to `op`: {"ok": true, ...} or {"ok": false, "error": {...}}.
  void on(const QString& op, Handler h) { handlers_[op] = std::move(h); }
  // One event line to every subscriber; how many got it.
  int pushEvent(const QJsonObject& event) {
    int n = 0;
    for (const auto& s : subscribers_) {
      if (!s) continue;
      s->write(QJsonDocument(event).toJson(QJsonDocument::Compact) + "\n");
      ++n;
    }
    return n;
  }
  [[nodiscard]] int subscribers() const {
    int n = 0;
    for (const auto& s : subscribers_) n += s ? 1 : 0;
    return n;
  }
  [[nodiscard]] const QList<QJsonObject>& requests() const { return requests_; }

 private:
  void answer(QLocalSocket* s, const QJsonObject& req) {
    requests_ << req;
    const auto op = req.value(QStringLiteral("op")).toString();
    QJsonObject r{{"ok", true}};
    if (op == QStringLiteral("status")) {
      r = status_;
      r.insert(QStringLiteral("ok"), true);
      if (!r.contains(QStringLiteral("you"))) r.insert(QStringLiteral("you"), QJsonObject{{"user", "root"}, {"role", "change"}});
    } else if (op == QStringLiteral("events")) {
      subscribers_ << s;
    } else if (handlers_.contains(op)) {
      r = handlers_[op](req);
    }
    r.insert(QStringLiteral("id"), req.value(QStringLiteral("id")));
    s->write(QJsonDocument(r).toJson(QJsonDocument::Compact) + "\n");
  }

  QLocalServer server_;
  QJsonObject status_;
  QMap<QString, Handler> handlers_;
  QList<QPointer<QLocalSocket>> subscribers_;
  QList<QJsonObject> requests_;
};

}  // namespace bulwark::console::testing
