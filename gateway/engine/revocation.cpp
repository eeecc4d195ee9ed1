#include "revocation.h"

#include <netinet/in.h>

#include <algorithm>
#include <chrono>
#include <charconv>
#include <cstring>

#include "bulwark/conntrack/reader.h"

namespace bulwark::engine {

namespace {

using policies::Family;
using policies::IpAddress;

// When nf_conntrack_max cannot be read: the kernel's default for a machine of a few GB.
constexpr std::size_t kFallbackMaxEntries = 262144;

IpAddress addressOf(std::uint8_t family, const std::array<std::uint8_t, 16>& bytes) {
  return IpAddress::fromBytes(family == AF_INET ? Family::V4 : Family::V6, bytes);
}

bool loopback(const IpAddress& a) {
  if (a.isV4()) return a.bytes()[0] == 127;
  static const auto one = *IpAddress::parse("::1");
  return a == one;
}

// One of the entry's addresses (either direction: the DNAT binding too) lies in one of `prefixes`.
bool touches(const conntrack::Entry& e, const std::vector<policies::Prefix>& prefixes) {
  if (e.family != AF_INET && e.family != AF_INET6) return true;  // to the judge, which leaves it as before
  for (const auto* bytes : {&e.orig.src, &e.orig.dst, &e.reply.src, &e.reply.dst}) {
    const auto a = addressOf(e.family, *bytes);
    for (const auto& p : prefixes) {
      if (p.contains(a)) return true;
    }
  }
  return false;
}

double millisSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

FlowContext flowContextOf(const policies::Policy& policy) {
  FlowContext c;
  // Sources in a VPN pool arrive through IPsec; judged as kernel XFRM delivers them (the
  // compiler admits the libipsec TUN wherever it admits `meta ipsec exists`).
  c.routes = firewall::routesFromPolicy(policy);
  if (policy.vpn) {
    for (const auto& g : policy.vpn->groups) {
      if (g.pool.length() > 0) c.vpnPools.push_back(g.pool);
    }
    // IKE's own addresses are the gateway's: its flows are judged by the input rules.
    for (const auto& a : policy.vpn->listen) c.routes.local.push_back(a);
  }
  return c;
}

RevocationJudge::RevocationJudge(const firewall::Ruleset& before, const firewall::Ruleset& after,
                                 const FlowContext& context, std::vector<KeptFlow> kept)
    : before_(before), after_(after), context_(context), kept_(std::move(kept)) {}

std::optional<firewall::Packet> RevocationJudge::packetOf(const conntrack::Entry& e) const {
  if (e.family != AF_INET && e.family != AF_INET6) return std::nullopt;
  const auto src = addressOf(e.family, e.orig.src);
  const auto& local = context_.routes.local;
  // The gateway's own connections (health probes, charon's, bulwarkd's): no input or forward
  // rule admitted them.
  if (loopback(src) || std::find(local.begin(), local.end(), src) != local.end()) return std::nullopt;
  auto iif = context_.routes.lookup(src);
  if (!iif) return std::nullopt;
  firewall::Packet p;
  p.iif = *iif;
  p.src = src;
  p.dst = addressOf(e.family, e.orig.dst);
  p.proto = e.proto;
  p.dport = e.orig.dport;
  p.viaIpsec = std::any_of(context_.vpnPools.begin(), context_.vpnPools.end(),
                           [&](const policies::Prefix& pool) { return pool.contains(src); });
  if (e.dnat()) {
    p.natTo = addressOf(e.family, e.reply.src);
    p.natPort = e.reply.sport;
  }
  return p;
}

bool RevocationJudge::kept(const conntrack::Entry& e) const {
  if (e.proto != IPPROTO_TCP) return false;
  const auto src = addressOf(e.family, e.orig.src);
  const auto dst = addressOf(e.family, e.orig.dst);
  return std::any_of(kept_.begin(), kept_.end(), [&](const KeptFlow& k) {
    return k.src == src && k.sport == e.orig.sport && k.dst == dst && k.dport == e.orig.dport;
  });
}

RevocationJudge::Key RevocationJudge::keyOf(const conntrack::Entry& e) {
  // What the evaluator reads; the source port is not among it. The reply side only when
  // DNATed (then it is the binding the flow is judged for).
  Key k{};
  std::size_t at = 0;
  auto put = [&](const void* p, std::size_t n) {
    std::memcpy(k.data() + at, p, n);
    at += n;
  };
  put(&e.family, 1);
  put(&e.proto, 1);
  put(e.orig.src.data(), 16);
  put(e.orig.dst.data(), 16);
  put(&e.orig.dport, 2);
  if (e.dnat()) {
    put(e.reply.src.data(), 16);
    put(&e.reply.sport, 2);
  }
  return k;
}

std::size_t RevocationJudge::KeyHash::operator()(const Key& k) const {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (auto b : k) h = (h ^ b) * 1099511628211ULL;
  return static_cast<std::size_t>(h);
}

RevocationJudge::Verdict RevocationJudge::decide(const conntrack::Entry& e) const {
  auto p = packetOf(e);
  if (!p) return Verdict::NotJudged;
  // Whether a flow came through the tunnel is not in its conntrack entry, and the new
  // policy's pools may not be the old one's (a pool that moves): judged both ways, cut
  // when on either way the old ruleset admitted it and the new one does not. Outside the
  // pools the two ways are one (only the pools' rules ask for IPsec).
  for (bool ipsec : {p->viaIpsec, !p->viaIpsec}) {
    auto q = *p;
    q.viaIpsec = ipsec;
    if (firewall::evaluate(before_, context_.routes, q, false).accepted &&
        !firewall::evaluate(after_, context_.routes, q, false).accepted) {
      return Verdict::Cut;
    }
  }
  return Verdict::Keep;
}

RevocationJudge::Verdict RevocationJudge::judge(const conntrack::Entry& e) {
  if (e.family != AF_INET && e.family != AF_INET6) return Verdict::NotJudged;
  // Per entry only the key and one lookup: a table of 250k entries from a few thousand
  // sources costs a few thousand evaluations.
  auto key = keyOf(e);
  auto it = cache_.find(key);
  if (it == cache_.end()) it = cache_.emplace(key, decide(e)).first;
  if (it->second != Verdict::Cut) return it->second;
  return kept(e) ? Verdict::Spared : Verdict::Cut;
}

Result<RevocationReport, RevocationError> revoke(const firewall::Ruleset& before, const firewall::Ruleset& after,
                                             const FlowContext& context, const RevocationOptions& options) {
  RevocationReport r;
  r.dryRun = options.dryRun;
  auto reader = conntrack::Reader::open();
  if (!reader) return RevocationError{reader.error().message};
  std::size_t limit = options.maxEntries != 0 ? options.maxEntries : conntrack::tableMax();
  if (limit == 0) limit = kFallbackMaxEntries;
  std::vector<conntrack::Entry> entries;
  auto t = std::chrono::steady_clock::now();
  if (auto st = reader->dumpEntries(entries, limit, r.seen); !st) return RevocationError{st.error().message};
  r.entries = entries.size();
  r.dumpMillis = millisSince(t);

  t = std::chrono::steady_clock::now();
  RevocationJudge judge(before, after, context, options.kept);
  std::vector<const conntrack::Entry*> doomed;
  for (const auto& e : entries) {
    if (options.touching && !touches(e, *options.touching)) {
      ++r.untouched;
      continue;
    }
    switch (judge.judge(e)) {
      case RevocationJudge::Verdict::Cut: doomed.push_back(&e); break;
      case RevocationJudge::Verdict::Spared: ++r.spared; break;
      case RevocationJudge::Verdict::Keep:
      case RevocationJudge::Verdict::NotJudged: break;
    }
  }
  r.toCut = doomed.size();
  for (std::size_t i = 0; i < doomed.size() && i < options.listed; ++i) r.flows.push_back(doomed[i]->text());
  r.judgeMillis = millisSince(t);
  if (options.dryRun) return r;

  t = std::chrono::steady_clock::now();
  for (const auto* e : doomed) {
    bool gone = false;
    auto st = reader->destroy(*e, gone);
    if (!st) {
      if (r.error.empty()) r.error = st.error().message;
      ++r.failed;
    } else if (gone) {
      ++r.gone;
    } else {
      ++r.cut;
    }
  }
  r.deleteMillis = millisSince(t);
  return r;
}

nlohmann::json revocationJson(const RevocationReport& r) {
  auto round = [](double ms) { return static_cast<double>(static_cast<long long>(ms * 100)) / 100; };
  nlohmann::json j{{"dry_run", r.dryRun},         {"widens_only", r.widensOnly},
                   {"entries", r.entries},        {"untouched", r.untouched},
                   {"seen", r.seen},              {"truncated", r.seen > r.entries},
                   {"to_cut", r.toCut},           {"cut", r.cut},
                   {"gone", r.gone},              {"failed", r.failed},
                   {"spared", r.spared},          {"flows", r.flows},
                   {"dump_ms", round(r.dumpMillis)}, {"judge_ms", round(r.judgeMillis)},
                   {"delete_ms", round(r.deleteMillis)}};
  if (!r.error.empty()) j["error"] = r.error;
  return j;
}

}  // namespace bulwark::engine
