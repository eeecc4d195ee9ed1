#pragma once
// One function per bulwarkctl verb. Exit codes: 0 ok, 1 invalid policy (or, for
// `fmt --check`, files not in canonical form), 2 usage or I/O error.
#include <cstddef>
#include <functional>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace CLI {
class App;
}

namespace bulwark::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitInvalid = 1;
inline constexpr int kExitUsage = 2;

struct GlobalOptions {
  bool json = false;
  bool werror = false;  // warnings count as errors
};

// Each group of verbs registers its subcommands; the chosen one sets `action`, which
// main() runs after parsing. A new group = one register function and one line in main().
using Action = std::function<int()>;
struct Registry {
  CLI::App& app;
  GlobalOptions& opts;
  std::string& path;  // policy file or directory; default $BULWARK_POLICY or /etc/bulwark/policy
  const std::string& pathHelp;
  Action& action;
};
void registerPolicyCommands(Registry& r);    // validate, fmt, show, diff
void registerFirewallCommands(Registry& r);  // test, why, render, plan, apply, counters
void registerPkiCommands(Registry& r);       // pki init, issue, revoke, list, gateway, crl
void registerVpnCommands(Registry& r);       // vpn apply|plan, tunnels [terminate USER]
// status, confirm, rollback, history, reload, events; plan/apply via bulwarkd unless --direct.
// Registered after the firewall verbs (it routes their plan/apply).
void registerDaemonCommands(Registry& r);

int runValidate(const std::string& path, const GlobalOptions& opts);
int runFmt(const std::string& path, bool check, const GlobalOptions& opts);
int runShow(const std::string& path, const GlobalOptions& opts);
int runTest(const std::string& path, const GlobalOptions& opts);
int runRender(const std::string& path, const GlobalOptions& opts);

struct WhyArgs {
  std::string policy;
  std::string src;      // address, or a host/segment/zone/VPN group name
  std::string dst;
  std::string service;  // tcp/443, udp/53, icmp
  std::string iif;      // override the ingress interface
  bool libipsec = false;  // a VPN source arriving on charon's userspace-ESP TUN
};
// What plan/apply cover: both (default), or only one part (--only firewall|links).
enum class Parts { All, Firewall, Links };
// nftOnly (--nft): only the kernel plan, without the review in policy terms before it.
int runPlan(const std::string& path, bool detailedExitCode, Parts parts, bool nftOnly, const GlobalOptions& opts);
// keepEstablished: leave the connections the new policy no longer allows running (revocation
// is skipped; gateway/engine/revocation.h).
int runApply(const std::string& path, Parts parts, bool keepEstablished, const GlobalOptions& opts);
int runCounters(const std::string& path, const GlobalOptions& opts);

// diff: exit codes as `plan --detailed-exitcode`.
inline constexpr int kExitDiffError = 1;
inline constexpr int kExitDiffChanges = 2;
struct DiffArgs {
  std::string policy;   // the policy file or directory (its Git repository for revisions)
  std::string oldSide;  // a path or a Git revision; "" = HEAD
  std::string newSide;  // a path or a Git revision; "" = the working tree
  bool markdown = false;
};
int runDiff(const DiffArgs& args, const GlobalOptions& opts);
// `tunnels` output, the same from charon (--direct) and from bulwarkd: rows
// {user, group, identity, virtual_ip, outer_address, state, up_since, bytes_in, bytes_out,
// packets_in, packets_out, ike_id}; a table, or the array with --json.
int printTunnels(const nlohmann::json& rows, const GlobalOptions& opts);
void printTerminated(const std::string& user, std::size_t n, const GlobalOptions& opts);
int runWhy(const WhyArgs& args, const GlobalOptions& opts);

}  // namespace bulwark::cli
