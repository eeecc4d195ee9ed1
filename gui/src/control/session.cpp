#include "control/session.h"

#include <QLocalSocket>
#include <QSslSocket>

#include "control/tls_identity.h"

namespace bulwark::console {

// One socket and the connections made to it; deleting it closes the socket.
struct Session::Link {
  std::unique_ptr<QIODevice> device;
  ~Link() {
    if (device) {
      device->disconnect();
      device->close();
    }
  }
};

Session::Session(QObject* parent) : QObject(parent), requests_(this), events_(this) {
  retry_.setInterval(2000);
  retry_.setSingleShot(true);
  connect(&retry_, &QTimer::timeout, this, [this] {
    if (wanted_) connectTo(endpoint_);
  });
  connect(&events_, &ControlClient::eventReceived, this, &Session::eventReceived);
  for (auto* c : {&requests_, &events_}) {
    connect(c, &ControlClient::protocolError, this, [this](const QString& why) { onLinkDown(why); });
  }
}

Session::~Session() {
  wanted_ = false;
  requests_.setDevice(nullptr);
  events_.setDevice(nullptr);
}

void Session::setState(State s) {
  if (s == state_) return;
  state_ = s;
  emit stateChanged();
}

void Session::connectTo(const Endpoint& endpoint) {
  endpoint_ = endpoint;
  wanted_ = true;
  retry_.stop();
  ++generation_;
  requests_.setDevice(nullptr);
  events_.setDevice(nullptr);
  reqLink_.reset();
  evLink_.reset();
  reqUp_ = evUp_ = false;
  lastError_.clear();
  setState(State::Connecting);
  if (open(false)) open(true);
}

void Session::disconnectFromDaemon() {
  wanted_ = false;
  retry_.stop();
  ++generation_;
  requests_.setDevice(nullptr);
  events_.setDevice(nullptr);
  reqLink_.reset();
  evLink_.reset();
  reqUp_ = evUp_ = false;
  setState(State::Disconnected);
}

bool Session::open(bool forEvents) {
  auto& link = forEvents ? evLink_ : reqLink_;
  link = std::make_unique<Link>();
  if (endpoint_.kind == Endpoint::Kind::Local) {
    auto* s = new QLocalSocket();
    link->device.reset(s);
    connect(s, &QLocalSocket::connected, this, [this, forEvents] { onLinkUp(forEvents); });
    connect(s, &QLocalSocket::disconnected, this, [this] { onLinkDown(QStringLiteral("the daemon closed the connection")); });
    connect(s, &QLocalSocket::errorOccurred, this, [this, s] { onLinkDown(s->errorString()); });
    s->connectToServer(endpoint_.socketPath);
    return true;
  }
  auto id = loadTlsIdentity(endpoint_.p12Path, endpoint_.p12Password, endpoint_.caPath);
  if (!id.identity) {
    lastError_ = id.error;
    wanted_ = false;  // retrying cannot fix a bad bundle
    link.reset();
    setState(State::Disconnected);
    return false;
  }
  tlsSubject_ = id.identity->subject;
  auto* s = new QSslSocket();
  link->device.reset(s);
  s->setSslConfiguration(id.identity->config);
  connect(s, &QSslSocket::encrypted, this, [this, forEvents] { onLinkUp(forEvents); });
  connect(s, &QSslSocket::disconnected, this, [this] { onLinkDown(QStringLiteral("the daemon closed the connection")); });
  connect(s, &QSslSocket::errorOccurred, this, [this, s] { onLinkDown(s->errorString()); });
  connect(s, &QSslSocket::sslErrors, this, [this](const QList<QSslError>& errors) {
    QStringList l;
    for (const auto& e : errors) l << e.errorString();
    lastError_ = QStringLiteral("TLS: ") + l.join(QStringLiteral("; "));  // never ignored: the handshake fails
  });
  // The daemon's certificate names the gateway (vpn.local_id), not necessarily the address.
  s->connectToHostEncrypted(endpoint_.host, endpoint_.port,
                            endpoint_.serverName.isEmpty() ? endpoint_.host : endpoint_.serverName);
  return true;
}

void Session::onLinkUp(bool forEvents) {
  if (forEvents) {
    evUp_ = true;
    events_.setDevice(evLink_->device.get());
    events_.request(QStringLiteral("events"), {}, [](const QJsonObject&) {});
  } else {
    reqUp_ = true;
    requests_.setDevice(reqLink_->device.get());
  }
  if (reqUp_ && evUp_) {
    setState(State::Connected);
    refreshStatus();
  }
}

void Session::onLinkDown(const QString& why) {
  if (state_ == State::Disconnected && !wanted_) return;
  if (!why.isEmpty() && lastError_.isEmpty()) lastError_ = why;
  // Defer the teardown: this runs inside the socket's own signal.
  QMetaObject::invokeMethod(
      this,
      [this, gen = generation_] {
        if (gen != generation_) return;
        ++generation_;
        requests_.setDevice(nullptr);
        events_.setDevice(nullptr);
        reqLink_.reset();
        evLink_.reset();
        reqUp_ = evUp_ = false;
        status_ = {};
        setState(State::Disconnected);
        emit statusChanged(status_);
        if (wanted_) retry_.start();
      },
      Qt::QueuedConnection);
}

qint64 Session::request(const QString& op, const QJsonObject& args, ControlClient::ReplyFn onReply) {
  return requests_.request(op, args, std::move(onReply));
}

qint64 Session::request(const QString& op, const QJsonObject& args, QObject* context, ControlClient::ReplyFn onReply) {
  return requests_.request(op, args, context, std::move(onReply));
}

void Session::refreshStatus() {
  request(QStringLiteral("status"), {}, this, [this](const QJsonObject& r) {
    if (!r.value(QStringLiteral("ok")).toBool()) {
      lastError_ = replyError(r);
      emit stateChanged();
      return;
    }
    lastError_.clear();
    status_ = r;
    emit statusChanged(status_);
    emit stateChanged();
  });
}

QString Session::user() const {
  auto u = status_.value(QStringLiteral("you")).toObject().value(QStringLiteral("user")).toString();
  return u.isEmpty() ? tlsSubject_ : u;
}

QString Session::role() const {
  return status_.value(QStringLiteral("you")).toObject().value(QStringLiteral("role")).toString();
}

}  // namespace bulwark::console
