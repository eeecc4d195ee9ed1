#pragma once
// One policy, both nodes: how an HA pair's node reaches the other node's bulwarkd, and the
// rules (pure) a pair apply follows.
//
// The nodes talk over the mutual-TLS control API: each node listens on its own `control`
// address of the policy's ha.nodes (besides gateway.control's floating address, which only
// the active node holds) and connects to the other's with a node certificate from Bulwark's
// CA (CN = its node name, OU = gateway::kPeerGroup). The listener gives that certificate the
// peer role only when its CN is the other node of ha.nodes; the peer role may call the peer-*
// operations and nothing else, and nobody else may call them (dispatch.cpp). The node checks
// the listener's certificate against the same CA and the gateway's name (vpn.local_id).
//
// A pair apply (`bulwarkctl apply` on either node; handlers.cpp):
//   1. this node loads and validates the policy (the same preparer as any apply): invalid
//      means nothing is sent anywhere;
//   2. peer-status: the peer speaks kPeerProtocol, has no pending apply, and is at this
//      node's revision and policy hash (else refused: the pair has drifted apart; an apply
//      with --resync-peer brings both to the new revision anyway);
//   3. peer-apply: the policy's content (never a path) with the pair's revision number (one
//      above both histories) and a confirm window; the peer validates it with the same code
//      path and applies it, all or nothing;
//   4. this node applies it with the same window and number; if that fails, peer-abort rolls
//      the peer back at once (and it rolls back by itself at its deadline if it cannot be
//      reached);
//   5. without a requested confirm, the pair commits at once: peer-confirm, then this node's
//      own confirm (if the peer cannot confirm, this node rolls back: nothing changed on
//      either). With one (`--confirm S`), `bulwarkctl confirm` on either node confirms the
//      other node first, then itself; no confirm in time: both roll back.
// Every step is bounded (kPeer* below); an unreachable peer refuses the apply with the reason
// and changes nothing (`--local-only` applies on this node alone, and the pair then shows as
// out of sync).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "bulwark/gateway/protocol.h"
#include "bulwark/gateway/result.h"
#include "bulwark/policies/model.h"
#include "pair_rules.h"

namespace bulwark::daemon {

// Connecting (TCP, then the TLS handshake, each), and every send.
inline constexpr std::chrono::milliseconds kPeerConnectTimeout{3000};
inline constexpr std::chrono::milliseconds kPeerStatusTimeout{5000};
// A plan or an apply of the largest policy (policies::kMaxPolicyBytes) on the peer.
inline constexpr std::chrono::milliseconds kPeerApplyTimeout{120000};
inline constexpr std::chrono::milliseconds kPeerConfirmTimeout{10000};
// How long both halves of a pair apply without a requested confirm wait for the pair's
// commit: if this node dies between the peer's apply and the commit, the peer rolls back
// after this long.
inline constexpr int kPairCommitSeconds = 60;
// How often a node reads its peer's status (status, metrics, the out-of-sync alert), and how
// many checks in a row must differ before the pair counts as out of sync (a pair apply leaves
// the two nodes different for the moment between the peer's half and this node's).
inline constexpr std::chrono::seconds kPeerCheckInterval{5};
inline constexpr int kPeerOutOfSyncChecks = 2;

// <pki>/ca.crt, <pki>/issued/<node>/<node>.crt and .key (where `bulwarkctl pki issue NODE
// --group bulwark-peer` writes them).
[[nodiscard]] PeerFiles peerFilesOf(const std::filesystem::path& pkiDir, const std::string& node);

// The pair as the policy has it, for `node`: nullopt when the policy has no ha: section, no
// gateway.control, or no `control` address on both nodes (no pair operations: each node is
// applied on its own). Error: `node` is not one of ha.nodes.
[[nodiscard]] gateway::Result<std::optional<PeerConfig>> peerConfigOf(const policies::Policy& policy,
                                                                      const std::string& node, const PeerFiles& files);

// One peer-* call on a connection of its own (a fresh handshake: the CRL is checked every
// time), bounded by kPeerConnectTimeout and `timeout`. The reply as the peer sent it (ok or
// not); transport failures are Errors naming the peer ("peer edge1-b (10.99.0.3:9443)
// unreachable: ...").
[[nodiscard]] gateway::Result<nlohmann::json> peerCall(const PeerConfig& peer, std::string_view op,
                                                       nlohmann::json args, std::chrono::milliseconds timeout);

}  // namespace bulwark::daemon
