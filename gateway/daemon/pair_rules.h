#pragma once
// The rules of an HA pair's apply (peer_link.h), pure: who the other node is, what a peer-*
// request must carry, what a peer's status says, and when a pair apply may start and under
// which revision number. No I/O: the request dispatch fuzz target runs them.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "bulwark/gateway/protocol.h"
#include "bulwark/gateway/result.h"

namespace bulwark::daemon {

struct Peer;

struct PeerFiles {
  std::filesystem::path ca;    // Bulwark's CA (the PKI's ca.crt)
  std::filesystem::path cert;  // this node's certificate (CN = node, OU = bulwark-peer), PEM
  std::filesystem::path key;   // its key, PEM
  bool operator==(const PeerFiles&) const = default;
};
struct PeerConfig {
  std::string node;         // this node's name
  std::string peer;         // the other node's
  std::string ownAddress;   // this node's control address: the peer listener binds it
  std::string peerAddress;  // the other node's control address
  std::uint16_t port = 9443;  // gateway.control's port (both listeners)
  std::string serverName;   // what the peer's server certificate names: vpn.local_id, else its address
  PeerFiles files;
  bool operator==(const PeerConfig&) const = default;
  [[nodiscard]] std::string describe() const;  // "edge1-b (10.99.0.3:9443)"
};

// What a peer-* request must carry: "peer_protocol" == gateway::kPeerProtocol and "node" ==
// the caller's certificate CN. The error says what differs.
[[nodiscard]] gateway::Status checkPeerHeader(const nlohmann::json& body, const Peer& caller);

// A node's revision state as peer-status reports it.
struct PairState {
  int revision = 0;       // current
  std::string hash;       // current policy hash
  int latest = 0;         // highest revision number in its history
  std::optional<int> pending;  // an apply awaiting confirmation
  std::string role;       // its HA role (master, backup, ...), for status
  bool operator==(const PairState&) const = default;
};
// The body of a peer-status reply (every field checked: type and range).
[[nodiscard]] gateway::Result<PairState> pairStateOf(const nlohmann::json& body);
[[nodiscard]] nlohmann::json pairStateJson(const PairState& s);

// The revision number both nodes record a pair apply under, or why the apply must not start:
// the peer has an apply pending; the two differ in revision or hash (unless `resync`).
[[nodiscard]] gateway::Result<int> pairRevision(const PairState& mine, const PairState& peer, const PeerConfig& cfg,
                                                bool resync);

// Same revision and same hash (pending applies aside).
[[nodiscard]] bool pairInSync(const PairState& mine, const PairState& peer);

}  // namespace bulwark::daemon
