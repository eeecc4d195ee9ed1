#include "control/control_client.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>
#include <QFutureWatcher>
#include <QtConcurrent/QtConcurrentRun>

namespace bulwark::console {

ControlClient::ControlClient(QObject* parent) : QObject(parent) {}

void ControlClient::setDevice(QIODevice* device) {
  if (readConn_) disconnect(readConn_);
  failPending(QStringLiteral("connection replaced"));
  framer_ = gateway::LineFramer();
  device_ = device;
  if (device) readConn_ = connect(device, &QIODevice::readyRead, this, &ControlClient::onReadyRead);
}

qint64 ControlClient::request(const QString& op, const QJsonObject& args, QObject* context, ReplyFn onReply) {
  const qint64 id = nextId_++;
  QJsonObject msg = args;
  msg.insert(QStringLiteral("id"), id);
  msg.insert(QStringLiteral("op"), op);
  if (!device_ || !device_->isOpen()) {
    // Fail asynchronously too, so callers see one behaviour (never re-entered).
    QMetaObject::invokeMethod(
        context ? context : this,
        [fn = std::move(onReply), id] {
          fn(QJsonObject{{"id", id},
                         {"ok", false},
                         {"error", QJsonObject{{"code", "disconnected"}, {"message", "not connected"}}}});
        },
        Qt::QueuedConnection);
    return id;
  }
  pending_.emplace(id, Pending{std::move(onReply), QPointer<QObject>(context), context != nullptr});
  device_->write(frame(msg));
  return id;
}

void ControlClient::failPending(const QString& message) {
  // Move out first: a callback may send a new request.
  auto failed = std::move(pending_);
  pending_.clear();
  for (auto& [id, fn] : failed) {
    fn(QJsonObject{{"id", id}, {"ok", false}, {"error", QJsonObject{{"code", "disconnected"}, {"message", message}}}});
  }
}

QByteArray ControlClient::frame(const QJsonObject& msg) {
  // Compact JSON never contains a raw newline (QJsonDocument escapes them in strings).
  return QJsonDocument(msg).toJson(QJsonDocument::Compact) + '\n';
}

void ControlClient::onReadyRead() {
  if (!device_) return;
  feed(device_->readAll());
}

void ControlClient::feed(const QByteArray& bytes) {
  if (!framer_.append(std::string_view(bytes.constData(), static_cast<std::size_t>(bytes.size())))) {
    emit protocolError(QStringLiteral("a message is longer than the protocol allows"));
    return;
  }
  while (auto line = framer_.next()) dispatch(QByteArray(line->data(), static_cast<qsizetype>(line->size())));
}

namespace {
struct Parsed {
  QJsonObject obj;
  QString error;  // empty when obj is valid
};
Parsed parseLine(const QByteArray& line) {
  QJsonParseError err{};
  auto doc = QJsonDocument::fromJson(line, &err);
  if (err.error != QJsonParseError::NoError || !doc.isObject()) {
    return {{}, err.error != QJsonParseError::NoError ? err.errorString() : QStringLiteral("not an object")};
  }
  return {doc.object(), {}};
}
}  // namespace

void ControlClient::dispatch(const QByteArray& line) {
  if (line.trimmed().isEmpty()) return;
  if (line.size() >= kParseOffThreadBytes) {
    // Parsing a megabyte takes tens of milliseconds: not on the UI thread.
    auto* w = new QFutureWatcher<Parsed>(this);
    connect(w, &QFutureWatcher<Parsed>::finished, this, [this, w, line] {
      auto p = w->result();
      w->deleteLater();
      if (!p.error.isEmpty()) {
        emit protocolError(QStringLiteral("not a JSON object: %1").arg(p.error));
        return;
      }
      deliver(p.obj, line);
    });
    w->setFuture(QtConcurrent::run(&parseLine, line));
    return;
  }
  auto p = parseLine(line);
  if (!p.error.isEmpty()) {
    emit protocolError(QStringLiteral("not a JSON object: %1").arg(p.error));
    return;
  }
  deliver(p.obj, line);
}

void ControlClient::deliver(const QJsonObject& obj, const QByteArray& line) {
  if (obj.contains(QStringLiteral("id")) && !obj.value(QStringLiteral("id")).isNull()) {
    auto it = pending_.find(obj.value(QStringLiteral("id")).toInteger(-1));
    if (it == pending_.end()) return;  // a reply nobody waits for (after failPending)
    auto fn = std::move(it->second);
    pending_.erase(it);
    fn(obj);
    return;
  }
  if (obj.contains(QStringLiteral("event"))) {
    emit eventReceived(obj);
    return;
  }
  // A reply with id null: the daemon could not read our id (malformed request).
  emit protocolError(QStringLiteral("reply without id: %1").arg(QString::fromUtf8(line.left(200))));
}

QString replyError(const QJsonObject& reply) {
  if (reply.value(QStringLiteral("ok")).toBool()) return {};
  auto e = reply.value(QStringLiteral("error")).toObject();
  QString s = e.value(QStringLiteral("code")).toString() + QStringLiteral(": ") + e.value(QStringLiteral("message")).toString();
  for (const auto& d : e.value(QStringLiteral("diagnostics")).toArray()) s += QStringLiteral("\n") + d.toString();
  return s;
}

}  // namespace bulwark::console
