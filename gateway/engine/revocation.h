#pragma once
// Revocation: after a firewall change the established connections the new policy no longer
// allows are cut. Without it the established fast path (`ct state established,related
// accept`) would let every connection an old allow admitted run forever.
//
// A live connection is cut when the ruleset before the change accepted its first packet and
// the ruleset after does not, each judged by the evaluator `why` uses (firewall/evaluator.h)
// on the conntrack entry's original tuple: where it came in (the route back to its source;
// through IPsec or not: both are judged), DNAT with the flow's own binding (the
// reply tuple names the backend: a VIP flow stays judged for the backend it has), forward or
// input. A change that does not touch a flow never cuts it; flows the gateway itself opened,
// and flows the old ruleset did not accept (there was no Bulwark table, or something else
// let them in), are never cut. Cutting is a ctnetlink delete of exactly that entry (tuple,
// zone and id), never a flush. The choices (the change's own session is kept; a rollback
// does not bring cut connections back): gateway/engine/README.md, "Revocation".
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "bulwark/base/result.h"
#include "bulwark/conntrack/entry.h"
#include "bulwark/firewall/evaluator.h"
#include "bulwark/policies/model.h"
#include "kept_flow.h"

namespace bulwark::engine {

// How flows reach the gateway, from the policy: the routes (and the gateway's own addresses,
// IKE's listen addresses included), and the VPN pools (their sources are judged as arriving
// through IPsec first).
struct FlowContext {
  firewall::RouteTable routes;
  std::vector<policies::Prefix> vpnPools;
};
[[nodiscard]] FlowContext flowContextOf(const policies::Policy& policy);


// The decision, pure: which entries to cut. Judgements are cached by what the evaluator
// reads (family, protocol, addresses, destination port, DNAT binding), so thousands of
// streams from one source cost one evaluation per ruleset.
class RevocationJudge {
 public:
  RevocationJudge(const firewall::Ruleset& before, const firewall::Ruleset& after, const FlowContext& context,
                  std::vector<KeptFlow> kept = {});
  enum class Verdict { Keep, Cut, Spared, NotJudged };  // Spared: a kept flow the change would cut
  [[nodiscard]] Verdict judge(const conntrack::Entry& e);
  // The evaluator's packet for an entry (nullopt: not judged: the gateway's own flow, or
  // an address family / source the policy cannot place).
  [[nodiscard]] std::optional<firewall::Packet> packetOf(const conntrack::Entry& e) const;

 private:
  using Key = std::array<std::uint8_t, 54>;  // family, proto, src, dst, dport, [DNAT binding]
  struct KeyHash {
    std::size_t operator()(const Key& k) const;
  };
  [[nodiscard]] static Key keyOf(const conntrack::Entry& e);
  [[nodiscard]] Verdict decide(const conntrack::Entry& e) const;  // Keep, Cut or NotJudged
  [[nodiscard]] bool kept(const conntrack::Entry& e) const;
  const firewall::Ruleset& before_;
  const firewall::Ruleset& after_;
  const FlowContext& context_;
  std::vector<KeptFlow> kept_;
  std::unordered_map<Key, Verdict, KeyHash> cache_;
};

struct RevocationOptions {
  bool dryRun = false;          // plan: count, delete nothing
  std::size_t listed = 10;      // flows named in the report
  std::size_t maxEntries = 0;   // entries judged at most (0: nf_conntrack_max)
  std::vector<KeptFlow> kept;
  // Judge only entries with an address in one of these (firewall::changedAddresses(): a
  // change of set elements reaches no other flow); the rest are kept unjudged. nullopt: all.
  std::optional<std::vector<policies::Prefix>> touching;
};

struct RevocationReport {
  bool dryRun = false;
  bool widensOnly = false;   // the change cannot refuse an accepted connection: nothing was read
  std::size_t entries = 0;   // dumped
  std::size_t untouched = 0; // of them, outside every changed element: kept without judging
  std::size_t seen = 0;      // in the table during the dump (> entries: the rest not judged)
  std::size_t toCut = 0;     // the new policy no longer allows them
  std::size_t cut = 0;       // deleted
  std::size_t gone = 0;      // ended by themselves before the delete
  std::size_t failed = 0;    // the delete failed
  std::size_t spared = 0;    // the change's own session
  std::vector<std::string> flows;  // the first `listed` flows cut (or to cut)
  std::string error;         // the first delete error, if any
  double dumpMillis = 0, judgeMillis = 0, deleteMillis = 0;
  [[nodiscard]] double totalMillis() const { return dumpMillis + judgeMillis + deleteMillis; }
};

struct RevocationError {
  std::string message;
};

// Dump the conntrack table (at most maxEntries), judge every entry, delete those to cut.
// An Err: the table could not be read (nothing was deleted).
[[nodiscard]] Result<RevocationReport, RevocationError> revoke(const firewall::Ruleset& before,
                                                               const firewall::Ruleset& after,
                                                               const FlowContext& context,
                                                               const RevocationOptions& options);

// The report as the control API, the audit log and `bulwarkctl --json` carry it.
[[nodiscard]] nlohmann::json revocationJson(const RevocationReport& r);

}  // namespace bulwark::engine
