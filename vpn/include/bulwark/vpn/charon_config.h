#pragma once
// Policy → the configuration charon should have (pure), and the reconcile that makes charon
// have it over VICI.
//
// Per admin group G (so each group gets its own pool and its own identity match):
//   connection "bulwark-admin-G": IKEv2, certificate auth both ways, local cert = the
//     gateway's, remote id = pki::groupRemoteId(G) ("CN=*, OU=G") pinned to Bulwark's CA,
//     pools = "bulwark-pool-G", one CHILD_SA whose local_ts are the prefixes G may reach;
//   pool "bulwark-pool-G": addrs = G's pool prefix.
// Proposals: gatewayProposals() (proposals.h), which the client profiles use too.
//
// charon's list-conns does not show proposals, pools or certificates, so the CHILD_SA is
// named "G-<digest>": 8 hex digits of a hash over the whole connection definition. A
// connection whose observed child name, local-ts, identities and version match the desired
// ones is in sync; anything else is reloaded. Everything named "bulwark-..." that the
// policy no longer has is unloaded; nothing else in charon is touched.
#include <optional>
#include <string>
#include <vector>

#include "bulwark/policies/model.h"
#include "bulwark/policies/net.h"
#include "bulwark/vpn/proposals.h"
#include "bulwark/vpn/vici_client.h"
#include "bulwark/vpn/vici_commands.h"
#include "bulwark/vpn/vici_message.h"

namespace bulwark::vpn {

inline constexpr std::string_view kOwnedPrefix = "bulwark-";
[[nodiscard]] std::string connectionName(std::string_view group);  // bulwark-admin-<group>
[[nodiscard]] std::string poolName(std::string_view group);        // bulwark-pool-<group>

// PEM texts (the CLI reads them from the PKI directory).
struct Credentials {
  std::string caCert;
  std::string gatewayCert;
  std::string gatewayKey;           // never logged or printed
  std::optional<std::string> crl;   // present after the first revoke
};

struct ConnSpec {
  std::string name;   // bulwark-admin-<group>
  std::string group;
  std::string childName;  // <group>-<digest>
  std::string localId;
  std::string remoteId;
  std::vector<std::string> localTs;  // prefixes, canonical text
  Section vici;                      // the load-conn body
};

struct PoolSpec {
  std::string name;  // bulwark-pool-<group>
  std::string group;
  policies::Prefix addrs;
  Section vici;  // the load-pool body
};

struct CharonConfig {
  std::vector<ConnSpec> conns;
  std::vector<PoolSpec> pools;
  Credentials creds;
};

struct CharonOptions {
  std::string dpdDelay = "30s";
  // libipsec (this kernel has no ESP) forces UDP encapsulation anyway; kernel ESP keeps
  // charon's automatic NAT detection.
  bool forceEncap = false;
};

struct ConfigResult {
  CharonConfig config;
  std::vector<std::string> errors;  // policy problems that stop the VPN config
  [[nodiscard]] bool ok() const { return errors.empty(); }
};

// The policy must have passed validation. No vpn section → empty config (everything
// Bulwark-owned gets unloaded on reconcile).
[[nodiscard]] ConfigResult charonConfigFromPolicy(const policies::Policy& policy, Credentials creds,
                                                  const CharonOptions& options = {});

// ----------------------------------------------------------------- reconcile

// What charon has now (read over VICI).
struct Observed {
  std::vector<std::string> viciConns;           // get-conns
  std::vector<vici::NamedSection> listedConns;  // list-conns
  std::vector<vici::PoolInfo> pools;            // get-pools
  std::vector<vici::ListedCert> certs;          // list-certs
};
[[nodiscard]] ViciResult<Observed> observe(ViciClient& client);

enum class ChangeKind { LoadCaCert, LoadCert, LoadKey, LoadCrl, LoadPool, UnloadPool, LoadConn, UnloadConn };
[[nodiscard]] const char* changeKindName(ChangeKind k);

struct Change {
  ChangeKind kind;
  std::string name;    // connection/pool name, or the certificate's role
  std::string reason;  // "missing", "differs: local-ts", "not in the policy", ...
};

struct Plan {
  std::vector<Change> changes;  // in the order they must be applied
  [[nodiscard]] bool inSync() const { return changes.empty(); }
};

// Pure: desired vs observed.
[[nodiscard]] Plan planReconcile(const CharonConfig& desired, const Observed& observed);

struct ApplyResult {
  Plan plan;                      // what was (attempted to be) done
  std::size_t applied = 0;        // changes that succeeded
  std::vector<ViciError> errors;  // one per failed change (the others are still tried)
  [[nodiscard]] bool ok() const { return errors.empty(); }
};
// Applies the plan; a failing change does not stop the others (a connection whose pool
// failed still gets tried, so charon's errmsg is seen for each object). A Transport error
// stops the run (the connection is gone).
[[nodiscard]] ApplyResult applyPlan(ViciClient& client, const CharonConfig& desired, const Plan& plan);

// observe + plan + apply. The outer error is for the observation only.
[[nodiscard]] ViciResult<ApplyResult> reconcile(ViciClient& client, const CharonConfig& desired);

// PEM → DER of the first block (base64 body); empty on malformed input.
[[nodiscard]] std::string pemToDer(std::string_view pem);

}  // namespace bulwark::vpn
