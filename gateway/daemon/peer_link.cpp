#include "peer_link.h"

#include "bulwark/gateway/control_client.h"

namespace bulwark::daemon {

PeerFiles peerFilesOf(const std::filesystem::path& pkiDir, const std::string& node) {
  const auto issued = pkiDir / "issued" / node;
  return PeerFiles{pkiDir / "ca.crt", issued / (node + ".crt"), issued / (node + ".key")};
}

gateway::Result<std::optional<PeerConfig>> peerConfigOf(const policies::Policy& policy, const std::string& node,
                                                        const PeerFiles& files) {
  if (!policy.ha || !policy.gateway || !policy.gateway->control) return std::optional<PeerConfig>{};
  const policies::HaNode* self = policy.ha->findNode(node);
  if (self == nullptr) return gateway::Error{"this node, '" + node + "', is not one of the policy's ha.nodes"};
  const policies::HaNode* other = nullptr;
  for (const auto& n : policy.ha->nodes) {
    if (n.name != node) other = &n;
  }
  if (other == nullptr || !self->control || !other->control) return std::optional<PeerConfig>{};
  PeerConfig c;
  c.node = node;
  c.peer = other->name;
  c.ownAddress = self->control->str();
  c.peerAddress = other->control->str();
  c.port = policy.gateway->control->port;
  c.serverName = policy.vpn && !policy.vpn->localId.empty() ? policy.vpn->localId : c.peerAddress;
  c.files = files;
  return std::optional<PeerConfig>(std::move(c));
}

gateway::Result<nlohmann::json> peerCall(const PeerConfig& peer, std::string_view op, nlohmann::json args,
                                         std::chrono::milliseconds timeout) {
  gateway::TlsClientOptions o;
  o.host = peer.peerAddress;
  o.port = peer.port;
  o.cert = peer.files.cert.string();
  o.key = peer.files.key.string();
  o.ca = peer.files.ca.string();
  o.serverName = peer.serverName;
  o.connectTimeout = kPeerConnectTimeout;
  o.ioTimeout = kPeerConnectTimeout;
  const std::string who = "peer " + peer.describe();
  auto client = gateway::ControlClient::connectTls(o);
  if (!client) return gateway::Error{who + " unreachable: " + client.error().message};
  if (!args.is_object()) args = nlohmann::json::object();
  args["peer_protocol"] = gateway::kPeerProtocol;
  args["node"] = peer.node;
  auto reply = client->call(op, std::move(args), timeout);
  if (!reply) return gateway::Error{who + ": " + reply.error().message};
  return reply;
}

}  // namespace bulwark::daemon
