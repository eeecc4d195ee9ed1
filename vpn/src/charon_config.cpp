// Policy → CharonConfig (pure). See charon_config.h.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <set>

#include "bulwark/pki/pki.h"
#include "bulwark/policies/resolve.h"
#include "bulwark/vpn/charon_config.h"

namespace bulwark::vpn {

namespace {

using policies::Prefix;

void addZonePrefixes(const policies::Policy& policy, const policies::PolicyIndex& index, const std::string& zone,
                     std::vector<Prefix>& out) {
  if (zone == policies::kInternet) {
    out.push_back(*Prefix::parse("0.0.0.0/0"));
    out.push_back(*Prefix::parse("::/0"));
    return;
  }
  for (const auto& s : policy.segments) {
    if (index.zoneOfSegment(s.name) != zone) {
      continue;
    }
    if (s.ipv4) {
      out.push_back(s.ipv4->subnet);
    }
    if (s.ipv6) {
      out.push_back(s.ipv6->subnet);
    }
  }
  if (policy.vpn) {
    for (const auto& g : policy.vpn->groups) {
      if (index.zoneOfGroup(g.name) == zone) {
        out.push_back(g.pool);
      }
    }
  }
}

// Sorted, without prefixes another one covers (charon narrows the same way).
std::vector<Prefix> minimize(std::vector<Prefix> in) {
  std::sort(in.begin(), in.end(), [](const Prefix& a, const Prefix& b) {
    if (a.family() != b.family()) {
      return a.family() < b.family();
    }
    if (a.address() != b.address()) {
      return a.address() < b.address();
    }
    return a.length() < b.length();
  });
  std::vector<Prefix> out;
  for (const auto& p : in) {
    bool covered = false;
    for (const auto& q : out) {
      if (q.family() == p.family() && q.contains(p)) {
        covered = true;
        break;
      }
    }
    if (!covered) {
      out.push_back(p);
    }
  }
  return out;
}

std::string hex8(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%08x", static_cast<unsigned>((v ^ (v >> 32)) & 0xffffffffu));
  return buf;
}

std::uint64_t fnv1a(std::string_view data) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

std::string connectionName(std::string_view group) { return std::string(kOwnedPrefix) + "admin-" + std::string(group); }
std::string poolName(std::string_view group) { return std::string(kOwnedPrefix) + "pool-" + std::string(group); }

ConfigResult charonConfigFromPolicy(const policies::Policy& policy, Credentials creds, const CharonOptions& options) {
  ConfigResult result;
  result.config.creds = std::move(creds);
  if (!policy.vpn) {
    return result;
  }
  const Credentials& cr = result.config.creds;
  const policies::Vpn& vpn = *policy.vpn;
  if (cr.caCert.empty()) {
    result.errors.push_back("vpn: no CA certificate (run `bulwarkctl pki init`)");
  }
  if (cr.gatewayCert.empty() || cr.gatewayKey.empty()) {
    result.errors.push_back("vpn: no gateway certificate/key (run `bulwarkctl pki issue-gateway`)");
  }
  const policies::PolicyIndex index(policy);
  const Proposals proposals = gatewayProposals(vpn);
  const auto& ike = proposals.ike;
  const auto& esp = proposals.esp;

  for (const auto& g : vpn.groups) {
    std::vector<Prefix> reach;
    for (const auto& access : g.access) {
      for (const auto& to : access.to) {
        auto resolved = index.endpoint(to);
        if (!resolved) {
          result.errors.push_back(to.where.str() + ": vpn group '" + g.name + "': unknown destination '" + to.text + "'");
          continue;
        }
        if (resolved->kind == policies::EndpointKind::Any) {
          addZonePrefixes(policy, index, std::string(policies::kInternet), reach);
          continue;
        }
        for (const auto& atom : resolved->atoms) {
          if (atom.prefix) {
            reach.push_back(*atom.prefix);
          } else {
            addZonePrefixes(policy, index, atom.zone, reach);
          }
        }
      }
    }
    reach = minimize(std::move(reach));

    PoolSpec pool;
    pool.group = g.name;
    pool.name = poolName(g.name);
    pool.addrs = g.pool;
    pool.vici.add("addrs", g.pool.str());
    result.config.pools.push_back(std::move(pool));

    ConnSpec conn;
    conn.group = g.name;
    conn.name = connectionName(g.name);
    conn.localId = vpn.localId;
    conn.remoteId = pki::groupRemoteId(g.name);
    for (const auto& p : reach) {
      conn.localTs.push_back(p.str());
    }
    if (reach.empty()) {
      result.errors.push_back(g.where.str() + ": vpn group '" + g.name + "' may reach nothing; no connection for it");
      continue;
    }

    Section& s = conn.vici;
    s.add("version", "2");
    if (!vpn.listen.empty()) {
      std::vector<std::string> addrs;
      for (const auto& a : vpn.listen) {
        addrs.push_back(a.str());
      }
      s.addList("local_addrs", addrs);
    }
    s.addList("proposals", ike);
    s.addList("pools", {poolName(g.name)});
    s.add("unique", "replace");
    s.add("dpd_delay", options.dpdDelay);
    if (options.forceEncap) {
      s.add("encap", "yes");
    }
    Section& local = s.addSection("local");
    local.add("auth", "pubkey");
    local.addList("certs", {cr.gatewayCert});
    if (!vpn.localId.empty()) {
      local.add("id", vpn.localId);
    }
    Section& remote = s.addSection("remote");
    remote.add("auth", "pubkey");
    remote.addList("cacerts", {cr.caCert});
    remote.add("id", conn.remoteId);
    Section& children = s.addSection("children");
    // The child's name carries a digest of everything above and below it.
    Section child;
    child.addList("local_ts", conn.localTs);
    child.addList("esp_proposals", esp);
    child.add("mode", "tunnel");
    child.add("dpd_action", "clear");
    child.add("start_action", "none");
    Section digestInput = s;
    digestInput.addSection("child") = child;
    auto encoded = encodeMessage(digestInput);
    conn.childName = g.name + "-" + hex8(fnv1a(encoded ? *encoded : std::string()));
    children.addSection(conn.childName) = child;
    result.config.conns.push_back(std::move(conn));
  }
  return result;
}

}  // namespace bulwark::vpn
