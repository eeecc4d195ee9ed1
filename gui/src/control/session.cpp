#include "control/session.h"

#include <QJsonArray>
#include <QLocalSocket>
#include <QSslSocket>
#include <type_traits>

#include "control/gateway_health.h"
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
  connect(&events_, &ControlClient::eventReceived, this, &Session::onEvent);
  statusPoll_.setInterval(kStatusPollMs);
  connect(&statusPoll_, &QTimer::timeout, this, [this] {
    if (state_ == State::Connected && !statusInFlight_) refreshStatus();
  });
  pendingTick_.setInterval(1000);
  connect(&pendingTick_, &QTimer::timeout, this, [this] {
    if (pendingRevision_ == 0) pendingTick_.stop();
    emit pendingChanged();
  });
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
  if (s == State::Connected) {
    statusPoll_.start();
  } else {
    statusPoll_.stop();
  }
  emit stateChanged();
}

void Session::connectTo(const Endpoint& endpoint) {
  endpoint_ = endpoint;
  wanted_ = true;
  retry_.stop();
  dropLinks();
  lastError_.clear();
  setState(State::Connecting);
  if (open(false)) open(true);
}

void Session::dropLinks() {
  ++generation_;
  requests_.setDevice(nullptr);
  events_.setDevice(nullptr);
  reqLink_.reset();
  evLink_.reset();
  reqUp_ = evUp_ = false;
}

void Session::disconnectFromDaemon() {
  wanted_ = false;
  retry_.stop();
  dropLinks();
  setState(State::Disconnected);
}

bool Session::open(bool forEvents) {
  auto& link = forEvents ? evLink_ : reqLink_;
  link = std::make_unique<Link>();
  // Either kind of socket: the link is up when `up` fires, down when it closes or fails.
  auto watch = [this, forEvents](auto* s, auto up) {
    using Socket = std::remove_pointer_t<decltype(s)>;
    connect(s, up, this, [this, forEvents] { onLinkUp(forEvents); });
    connect(s, &Socket::disconnected, this, [this] { onLinkDown(QStringLiteral("the daemon closed the connection")); });
    connect(s, &Socket::errorOccurred, this, [this, s] { onLinkDown(s->errorString()); });
  };
  if (endpoint_.kind == Endpoint::Kind::Local) {
    auto* s = new QLocalSocket();
    link->device.reset(s);
    watch(s, &QLocalSocket::connected);
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
  watch(s, &QSslSocket::encrypted);
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
        dropLinks();
        status_ = {};
        pendingRevision_ = 0;  // unknown until the next status
        pendingTick_.stop();
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
  statusInFlight_ = true;
  request(QStringLiteral("status"), {}, this, [this](const QJsonObject& r) {
    statusInFlight_ = false;
    if (!r.value(QStringLiteral("ok")).toBool()) {
      lastError_ = replyError(r);
      emit stateChanged();
      return;
    }
    lastError_.clear();
    status_ = r;
    trackPending(status_);
    emit statusChanged(status_);
    emit stateChanged();
  });
}

int Session::pendingSecondsLeft() const {
  if (pendingRevision_ == 0) return 0;
  return static_cast<int>((std::max<qint64>(0, pendingDeadline_.remainingTime()) + 999) / 1000);
}

void Session::notePending(int revision, int seconds) {
  if (revision != pendingRevision_) pendingOutcome_.clear();
  pendingRevision_ = revision;
  pendingDeadline_.setRemainingTime(std::chrono::seconds(seconds));
  if (!pendingTick_.isActive()) pendingTick_.start();
  emit pendingChanged();
}

void Session::notePendingEnded(int revision, const QString& words, bool provisional) {
  // Only the pending revision's end, or better words for an end known only vaguely.
  if (revision <= 0 || !(revision == pendingRevision_ || (revision == endedRevision_ && provisional_))) return;
  pendingRevision_ = 0;
  endedRevision_ = revision;
  provisional_ = provisional;
  pendingOutcome_ = words;
  pendingTick_.stop();
  emit pendingChanged();
}

void Session::trackPending(const QJsonObject& status) {
  auto p = status.value(QStringLiteral("pending"));
  if (p.isObject()) {
    auto o = p.toObject();
    notePending(o.value(QStringLiteral("revision")).toInt(), o.value(QStringLiteral("seconds_left")).toInt());
    return;
  }
  if (pendingRevision_ == 0) return;
  // It ended and no event or reply said how yet: the revision's record knows.
  const int rev = pendingRevision_;
  notePendingEnded(rev, tr("revision %1 is no longer pending").arg(rev), true);
  askHistoryHowItEnded(rev);
}

void Session::askHistoryHowItEnded(int revision) {
  request(QStringLiteral("history"), {{"limit", 50}}, this, [this, revision](const QJsonObject& r) {
    if (endedRevision_ != revision || !provisional_) return;
    for (const auto& v : r.value(QStringLiteral("revisions")).toArray()) {
      auto o = v.toObject();
      if (o.value(QStringLiteral("revision")).toInt() != revision) continue;
      const auto st = o.value(QStringLiteral("status")).toString();
      if (st == QStringLiteral("confirmed")) notePendingEnded(revision, tr("revision %1 confirmed").arg(revision));
      if (st == QStringLiteral("rolled-back")) notePendingEnded(revision, tr("revision %1 rolled back").arg(revision));
    }
  });
}

void Session::onEvent(const QJsonObject& ev) {
  const auto name = ev.value(QStringLiteral("event")).toString();
  const int evRev = ev.value(QStringLiteral("revision")).toInt();
  const int mine = pendingRevision_ != 0 ? pendingRevision_ : provisional_ ? endedRevision_ : 0;
  if (name == QStringLiteral("confirm") && evRev > 0) {
    notePendingEnded(evRev, tr("revision %1 confirmed by %2").arg(evRev).arg(ev.value(QStringLiteral("who")).toString()));
  } else if (name == QStringLiteral("rollback") && mine > 0) {
    // The event names the revision the gateway runs afterwards, not the one rolled back.
    notePendingEnded(mine, isConfirmTimeout(ev)
                               ? tr("revision %1 was not confirmed in time: rolled back to revision %2").arg(mine).arg(evRev)
                               : tr("revision %1 rolled back by %2: the gateway runs revision %3")
                                     .arg(mine)
                                     .arg(ev.value(QStringLiteral("who")).toString())
                                     .arg(evRev));
  }
  emit eventReceived(ev);
  refreshStatus();  // every event may change what status says (revision, pending, kinds)
}

QString Session::user() const {
  auto u = status_.value(QStringLiteral("you")).toObject().value(QStringLiteral("user")).toString();
  return u.isEmpty() ? tlsSubject_ : u;
}

QString Session::role() const {
  return status_.value(QStringLiteral("you")).toObject().value(QStringLiteral("role")).toString();
}

}  // namespace bulwark::console
