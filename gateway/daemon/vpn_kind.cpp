#include "vpn_kind.h"

#include <sys/epoll.h>

#include <cerrno>
#include <chrono>
#include <ctime>
#include <fstream>
#include <sstream>

#include "bulwark/vpn/pki.h"
#include "bulwark/vpn/tunnels.h"
#include "history.h"

namespace bulwark::daemon {

namespace {

bool readFile(const std::filesystem::path& p, std::string& out) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

KindError viciError(const std::string& what, const vpn::ViciError& e) { return KindError{what + ": " + e.str(), {}}; }

const vpn::CharonConfig& configOf(const KindStatePtr& state) {
  static const vpn::CharonConfig kNothing;  // null state: Bulwark owns nothing in charon
  const auto* vs = dynamic_cast<const VpnState*>(state.get());
  return vs ? vs->config : kNothing;
}

KindPlan toPlan(const vpn::Plan& p) {
  KindPlan out;
  out.inSync = p.inSync();
  for (const auto& c : p.changes) {
    out.changes.push_back(std::string(vpn::changeKindName(c.kind)) + " " + c.name + " (" + c.reason + ")");
    out.commands.push_back(std::string(vpn::changeKindName(c.kind)) + " " + c.name);
  }
  return out;
}

class VpnKind final : public ResourceKind {
 public:
  explicit VpnKind(VpnOptions o) : o_(std::move(o)) {}

  std::string_view name() const override { return "vpn"; }

  KindResult<KindStatePtr> desired(const policies::Policy& policy) const override {
    vpn::Credentials creds;
    if (policy.vpn) {
      const std::filesystem::path dir = o_.pkiDir;
      for (const auto& [file, out] : {std::pair{vpn::pki::caCertPath(dir), &creds.caCert},
                                      std::pair{vpn::pki::gatewayCertPath(dir), &creds.gatewayCert},
                                      std::pair{vpn::pki::gatewayKeyPath(dir), &creds.gatewayKey}}) {
        if (!readFile(file, *out)) {
          return KindError{"vpn: cannot read " + file.string() + " (bulwarkctl pki init/gateway; --pki)", {}};
        }
      }
      std::string crl;
      if (readFile(vpn::pki::crlPath(dir), crl) && !crl.empty()) creds.crl = std::move(crl);
    }
    vpn::CharonOptions co;
    co.forceEncap = o_.libipsec;
    auto cfg = vpn::charonConfigFromPolicy(policy, std::move(creds), co);
    if (!cfg.ok()) return KindError{"the policy's VPN configuration is unusable", cfg.errors};
    return KindStatePtr(std::make_shared<VpnState>(std::move(cfg.config)));
  }

  KindResult<KindPlan> plan(const KindStatePtr& state) override {
    if (o_.standby && o_.standby()) return KindPlan{};  // no charon here: the active node's
    auto client = vpn::ViciClient::connect(o_.viciUri);
    if (!client) return viciError("vpn: charon at " + o_.viciUri, client.error());
    auto observed = vpn::observe(**client);
    if (!observed) return viciError("vpn: reading charon's configuration", observed.error());
    return toPlan(vpn::planReconcile(configOf(state), *observed));
  }

  KindResult<KindApplied> apply(const KindStatePtr& state) override {
    if (o_.standby && o_.standby()) return KindApplied{};  // no charon here: the active node's
    auto client = vpn::ViciClient::connect(o_.viciUri);
    if (!client) return viciError("vpn: charon at " + o_.viciUri, client.error());
    auto start = std::chrono::steady_clock::now();
    auto r = vpn::reconcile(**client, configOf(state));
    if (!r) return viciError("vpn: reading charon's configuration", r.error());
    KindApplied out;
    out.plan = toPlan(r->plan);
    out.messages = r->applied;
    out.millis = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!r->ok()) {
      KindError e{"vpn: charon refused " + std::to_string(r->errors.size()) + " change(s)", {}};
      for (const auto& x : r->errors) e.details.push_back(x.str());
      return e;
    }
    if (out.plan.inSync) return out;
    auto check = plan(state);
    if (!check.ok()) return check.error();
    if (!check.value().inSync) {
      return KindError{"vpn: applied, but charon still differs from the policy", check.value().changes};
    }
    return out;
  }

  // charon's loaded configuration cannot be turned back into a CharonConfig (the key is
  // never read back): "nothing" is what a rollback without a known state restores.
  KindResult<KindStatePtr> adoptObserved() override { return KindStatePtr{}; }

 private:
  VpnOptions o_;
};

}  // namespace

std::string viciUriOf(const std::string& pathOrUri) {
  if (pathOrUri.find("://") != std::string::npos) return pathOrUri;
  return "unix://" + pathOrUri;
}

ResourceKindPtr makeVpnKind(VpnOptions options) { return std::make_unique<VpnKind>(std::move(options)); }

gateway::Result<nlohmann::json> tunnelRows(const std::string& viciUri) {
  auto client = vpn::ViciClient::connect(viciUri);
  if (!client) return gateway::Error{"charon at " + viciUri + ": " + client.error().str()};
  auto tunnels = vpn::listTunnels(**client);
  if (!tunnels) return gateway::Error{"list-sas: " + tunnels.error().str()};
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& t : *tunnels) {
    rows.push_back({{"user", t.user},
                    {"group", t.group},
                    {"identity", t.identity},
                    {"virtual_ip", t.virtualIp},
                    {"outer", t.outerAddress},
                    {"state", t.state},
                    {"since", t.upSince},
                    {"bytes_in", t.bytesIn},
                    {"bytes_out", t.bytesOut},
                    {"packets_in", t.packetsIn},
                    {"packets_out", t.packetsOut},
                    {"ike_id", t.ikeId}});
  }
  return rows;
}

gateway::Result<std::size_t> terminateTunnels(const std::string& viciUri, const std::string& user) {
  auto client = vpn::ViciClient::connect(viciUri);
  if (!client) return gateway::Error{"charon at " + viciUri + ": " + client.error().str()};
  auto n = vpn::terminateUser(**client, user);
  if (!n) return gateway::Error{"terminate: " + n.error().str()};
  return *n;
}

// ---- events ----------------------------------------------------------------------------------

VpnEvents::VpnEvents(EventLoop& loop, std::string uri, std::function<void(const nlohmann::json&)> emit,
                     std::function<void()> onReconnect)
    : loop_(loop), uri_(std::move(uri)), emit_(std::move(emit)), onReconnect_(std::move(onReconnect)) {
  connect();
}

VpnEvents::~VpnEvents() {
  loop_.cancel(retry_);
  dropStream();
}

void VpnEvents::dropStream() {
  if (fd_ >= 0) loop_.unwatch(fd_);
  fd_ = -1;
  stream_.reset();
}

void VpnEvents::connect() {
  retry_ = 0;
  auto s = vpn::ViciEventStream::open(uri_, {"ike-updown", "child-updown"});
  if (!s) {
    retry_ = loop_.after(std::chrono::seconds(1), [this] { connect(); });
    return;
  }
  stream_ = std::move(*s);
  fd_ = stream_->fd();
  auto w = loop_.watch(fd_, EPOLLIN, [this](std::uint32_t) { onReadable(); });
  if (!w) {
    dropStream();
    retry_ = loop_.after(std::chrono::seconds(1), [this] { connect(); });
    return;
  }
  if (everConnected_ && onReconnect_) onReconnect_();  // charon came back: re-check its config
  everConnected_ = true;
}

void VpnEvents::onReadable() {
  // One event per readable round; a further one keeps the fd readable (level-triggered:
  // the transport reads exactly one frame, nothing is buffered behind the fd's back). The
  // fd is readable, so this returns at once unless a frame arrives in pieces.
  auto e = stream_->next(500);
  if (!e) {
    if (e.error().isTransport() && e.error().sysErrno == ETIMEDOUT) return;
    dropStream();  // charon closed the connection (stopped or restarting)
    retry_ = loop_.after(std::chrono::seconds(1), [this] { connect(); });
    return;
  }
  const bool up = e->message.get("up", "no") == "yes";
  for (const auto& entry : e->message.entries()) {
    if (entry.kind != vpn::Entry::Kind::Section) continue;
    emit_({{"event", "tunnel"},
           {"time", utcNow()},
           {"state", up ? "up" : "down"},
           {"sa", e->name == "ike-updown" ? "ike" : "child"},
           {"connection", entry.section.get("name", entry.name)},
           {"user", vpn::userFromIdentity(entry.section.get("remote-id"))}});
  }
}

}  // namespace bulwark::daemon
