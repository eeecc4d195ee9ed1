#include "pair_rules.h"

#include <algorithm>
#include <limits>

#include "peer_auth.h"

namespace bulwark::daemon {

std::string PeerConfig::describe() const {
  const bool v6 = peerAddress.find(':') != std::string::npos;
  return peer + " (" + (v6 ? "[" + peerAddress + "]" : peerAddress) + ":" + std::to_string(port) + ")";
}

gateway::Status checkPeerHeader(const nlohmann::json& body, const Peer& caller) {
  const auto proto = body.find("peer_protocol");
  if (proto == body.end() || !proto->is_number_integer()) {
    return gateway::Error{"a peer request carries \"peer_protocol\" (" + std::to_string(gateway::kPeerProtocol) + ")"};
  }
  if (proto->get<long long>() != gateway::kPeerProtocol) {
    return gateway::Error{"the peer speaks pair protocol " + std::to_string(proto->get<long long>()) +
                          ", this node " + std::to_string(gateway::kPeerProtocol) +
                          ": run the same bulwarkd version on both nodes"};
  }
  const auto node = body.find("node");
  if (node == body.end() || !node->is_string() || node->get_ref<const std::string&>() != caller.certCn) {
    return gateway::Error{"a peer request names its node, and it must be its certificate's CN (" + caller.certCn + ")"};
  }
  return gateway::okStatus();
}

namespace {

// A non-negative int from `body[key]` (absent: error).
gateway::Result<int> intField(const nlohmann::json& body, const char* key) {
  const auto it = body.find(key);
  if (it == body.end() || !it->is_number_integer()) return gateway::Error{std::string("no integer \"") + key + "\""};
  const auto v = it->get<long long>();
  if (v < 0 || v > std::numeric_limits<int>::max()) return gateway::Error{std::string("\"") + key + "\" out of range"};
  return static_cast<int>(v);
}

constexpr std::size_t kMaxHashBytes = 64;  // sha256, hex
constexpr std::size_t kMaxRoleBytes = 16;

}  // namespace

gateway::Result<PairState> pairStateOf(const nlohmann::json& body) {
  if (!body.is_object()) return gateway::Error{"peer-status: not an object"};
  PairState s;
  auto rev = intField(body, "revision");
  if (!rev) return gateway::Error{"peer-status: " + rev.error().message};
  auto latest = intField(body, "latest");
  if (!latest) return gateway::Error{"peer-status: " + latest.error().message};
  s.revision = *rev;
  s.latest = *latest;
  const auto hash = body.find("policy_hash");
  if (hash == body.end() || !hash->is_string() || hash->get_ref<const std::string&>().size() > kMaxHashBytes) {
    return gateway::Error{"peer-status: no \"policy_hash\""};
  }
  s.hash = hash->get<std::string>();
  if (const auto p = body.find("pending"); p != body.end() && !p->is_null()) {
    auto pending = intField(body, "pending");
    if (!pending) return gateway::Error{"peer-status: " + pending.error().message};
    s.pending = *pending;
  }
  if (const auto r = body.find("role"); r != body.end() && r->is_string()) {
    s.role = r->get<std::string>().substr(0, kMaxRoleBytes);
  }
  return s;
}

nlohmann::json pairStateJson(const PairState& s) {
  return {{"revision", s.revision},
          {"policy_hash", s.hash},
          {"latest", s.latest},
          {"pending", s.pending ? nlohmann::json(*s.pending) : nlohmann::json(nullptr)},
          {"role", s.role}};
}

namespace {

std::string shortHash(const std::string& h) { return h.empty() ? "none" : h.substr(0, 12); }

}  // namespace

gateway::Result<int> pairRevision(const PairState& mine, const PairState& peer, const PeerConfig& cfg, bool resync) {
  if (peer.pending) {
    return gateway::Error{"peer " + cfg.describe() + " has revision " + std::to_string(*peer.pending) +
                          " awaiting confirmation: confirm or roll it back first"};
  }
  if (mine.pending) {
    return gateway::Error{"revision " + std::to_string(*mine.pending) +
                          " awaits confirmation on this node: confirm or roll it back first"};
  }
  if (!resync && !pairInSync(mine, peer)) {
    return gateway::Error{"the pair is out of sync: peer " + cfg.describe() + " runs revision " +
                          std::to_string(peer.revision) + " (policy " + shortHash(peer.hash) + "), this node (" +
                          cfg.node + ") revision " + std::to_string(mine.revision) + " (policy " +
                          shortHash(mine.hash) +
                          "); apply with --resync-peer to bring both to this policy, or --local-only"};
  }
  return std::max(mine.latest, peer.latest) + 1;
}

bool pairInSync(const PairState& mine, const PairState& peer) {
  return mine.revision == peer.revision && mine.hash == peer.hash;
}

}  // namespace bulwark::daemon
