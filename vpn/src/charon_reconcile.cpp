// Read charon's state over VICI, diff it against the desired config, apply the difference.
#include <algorithm>
#include <set>

#include "bulwark/vpn/charon_config.h"

namespace bulwark::vpn {

namespace {

bool ownedName(std::string_view name) { return name.substr(0, kOwnedPrefix.size()) == kOwnedPrefix; }

int base64Value(char c) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '+') {
    return 62;
  }
  return c == '/' ? 63 : -1;
}

const vici::NamedSection* findConn(const Observed& o, std::string_view name) {
  for (const auto& c : o.listedConns) {
    if (c.name == name) {
      return &c;
    }
  }
  return nullptr;
}

const vici::PoolInfo* findPool(const Observed& o, std::string_view name) {
  for (const auto& p : o.pools) {
    if (p.name == name) {
      return &p;
    }
  }
  return nullptr;
}

const Section* authSection(const Section& conn, std::string_view side) {
  for (const auto& e : conn.entries()) {
    if (e.kind == Entry::Kind::Section && e.name.substr(0, side.size()) == side) {
      return &e.section;  // "local-1" / "remote-1"
    }
  }
  return nullptr;
}

// Why an observed connection differs from the desired one; empty when it matches.
std::string connDifference(const ConnSpec& want, const Section& have) {
  if (have.get("version") != "IKEv2") {
    return "differs: version";
  }
  const Section* children = have.section("children");
  if (!children || children->entries().size() != 1 || children->entries()[0].name != want.childName) {
    return "differs: definition digest (child name)";
  }
  const Section& child = children->entries()[0].section;
  std::vector<std::string> ts = child.items("local-ts");
  std::vector<std::string> wantTs = want.localTs;
  std::sort(ts.begin(), ts.end());
  std::sort(wantTs.begin(), wantTs.end());
  if (ts != wantTs) {
    return "differs: local-ts";
  }
  const Section* remote = authSection(have, "remote");
  if (!remote || remote->get("id") != want.remoteId) {
    return "differs: remote id";
  }
  const Section* local = authSection(have, "local");
  if (!want.localId.empty() && (!local || local->get("id") != want.localId)) {
    return "differs: local id";
  }
  return {};
}

bool poolMatches(const PoolSpec& want, const vici::PoolInfo& have) {
  if (have.base != want.addrs.address().str()) {
    return false;
  }
  const int hostBits = want.addrs.address().bits() - want.addrs.length();
  if (hostBits >= 63) {
    return true;  // charon caps huge IPv6 pools; the base decides
  }
  const std::uint64_t all = std::uint64_t{1} << hostBits;
  // charon skips the network and broadcast addresses of IPv4 ranges with room for it.
  return have.size == all || (all > 2 && have.size == all - 2);
}

bool hasCert(const Observed& o, std::string_view type, std::string_view flag, const std::string& der,
             bool needKey = false) {
  if (der.empty()) {
    return false;
  }
  for (const auto& c : o.certs) {
    if (c.type == type && (flag.empty() || c.flag == flag) && c.data == der) {
      return !needKey || c.hasPrivateKey;
    }
  }
  return false;
}

// One of observe()'s listings into its field of Observed, or its error.
template <typename T>
ViciStatus readInto(ViciResult<T>&& listing, T& field) {
  if (!listing) {
    return listing.error();
  }
  field = std::move(*listing);
  return viciOk();
}

// load-pool or load-conn of the desired pool or connection a change names.
template <typename Spec>
ViciStatus loadDesired(ViciClient& client, const std::vector<Spec>& specs, const std::string& name,
                       ViciStatus (*load)(ViciClient&, std::string_view, const Section&)) {
  ViciStatus st = viciOk();
  for (const auto& spec : specs) {
    if (spec.name == name) {
      st = load(client, spec.name, spec.vici);
    }
  }
  return st;
}

// One planned change as the VICI command(s) that make it.
ViciStatus applyChange(ViciClient& client, const CharonConfig& desired, const Change& ch) {
  const Credentials& cr = desired.creds;
  switch (ch.kind) {
    case ChangeKind::LoadCaCert: return vici::loadCert(client, vici::CertType::X509, vici::CertFlag::Ca, cr.caCert);
    case ChangeKind::LoadCert:
      return vici::loadCert(client, vici::CertType::X509, vici::CertFlag::None, cr.gatewayCert);
    case ChangeKind::LoadKey: return vici::loadKey(client, vici::keyTypeOfPem(cr.gatewayKey), cr.gatewayKey);
    case ChangeKind::LoadCrl: {
      ViciStatus st =
          cr.crl ? vici::loadCert(client, vici::CertType::X509Crl, vici::CertFlag::None, *cr.crl) : viciOk();
      if (!st) {
        return st;
      }
      // Otherwise charon keeps using the CRL it cached before (see vici_cmd_flush_certs.cpp).
      return vici::flushCerts(client, "X509_CRL");
    }
    case ChangeKind::LoadPool: return loadDesired(client, desired.pools, ch.name, vici::loadPool);
    case ChangeKind::UnloadPool: return vici::unloadPool(client, ch.name);
    case ChangeKind::LoadConn: return loadDesired(client, desired.conns, ch.name, vici::loadConn);
    case ChangeKind::UnloadConn: return vici::unloadConn(client, ch.name);
  }
  return viciOk();
}

}  // namespace

std::string pemToDer(std::string_view pem) {
  const auto begin = pem.find("-----BEGIN ");
  if (begin == std::string_view::npos) {
    return {};
  }
  const auto bodyStart = pem.find('\n', begin);
  const auto end = pem.find("-----END ", begin);
  if (bodyStart == std::string_view::npos || end == std::string_view::npos || end < bodyStart) {
    return {};
  }
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : pem.substr(bodyStart, end - bodyStart)) {
    if (c == '=' || c == '\n' || c == '\r' || c == ' ' || c == '\t') {
      continue;
    }
    const int v = base64Value(c);
    if (v < 0) {
      return {};
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

const char* changeKindName(ChangeKind k) {
  switch (k) {
    case ChangeKind::LoadCaCert: return "load-cert (CA)";
    case ChangeKind::LoadCert: return "load-cert";
    case ChangeKind::LoadKey: return "load-key";
    case ChangeKind::LoadCrl: return "load-cert (CRL)";
    case ChangeKind::LoadPool: return "load-pool";
    case ChangeKind::UnloadPool: return "unload-pool";
    case ChangeKind::LoadConn: return "load-conn";
    case ChangeKind::UnloadConn: return "unload-conn";
  }
  return "?";
}

ViciResult<Observed> observe(ViciClient& client) {
  Observed o;
  ViciStatus st = readInto(vici::getConns(client), o.viciConns);
  if (st) {
    st = readInto(vici::listConns(client), o.listedConns);
  }
  if (st) {
    st = readInto(vici::getPools(client), o.pools);
  }
  if (st) {
    st = readInto(vici::listCerts(client), o.certs);
  }
  if (!st) {
    return st.error();
  }
  return o;
}

Plan planReconcile(const CharonConfig& desired, const Observed& observed) {
  Plan plan;
  const Credentials& cr = desired.creds;
  const bool wantsCreds = !desired.conns.empty();
  if (wantsCreds) {
    if (!hasCert(observed, "X509", "CA", pemToDer(cr.caCert))) {
      plan.changes.push_back({ChangeKind::LoadCaCert, "ca", "missing"});
    }
    const std::string gwDer = pemToDer(cr.gatewayCert);
    if (!hasCert(observed, "X509", "", gwDer)) {
      plan.changes.push_back({ChangeKind::LoadCert, "gateway", "missing"});
      plan.changes.push_back({ChangeKind::LoadKey, "gateway", "missing"});
    } else if (!hasCert(observed, "X509", "", gwDer, true)) {
      plan.changes.push_back({ChangeKind::LoadKey, "gateway", "missing"});
    }
    if (cr.crl && !hasCert(observed, "X509_CRL", "", pemToDer(*cr.crl))) {
      plan.changes.push_back({ChangeKind::LoadCrl, "crl", "missing or older"});
    }
  }

  // Connections go before pools they no longer use; pools before connections using them.
  std::set<std::string> wantConns;
  std::set<std::string> wantPools;
  for (const auto& c : desired.conns) {
    wantConns.insert(c.name);
  }
  for (const auto& p : desired.pools) {
    wantPools.insert(p.name);
  }
  for (const auto& name : observed.viciConns) {
    if (ownedName(name) && !wantConns.count(name)) {
      plan.changes.push_back({ChangeKind::UnloadConn, name, "not in the policy"});
    }
  }
  for (const auto& p : observed.pools) {
    if (ownedName(p.name) && !wantPools.count(p.name)) {
      plan.changes.push_back({ChangeKind::UnloadPool, p.name, "not in the policy"});
    }
  }
  for (const auto& p : desired.pools) {
    const auto* have = findPool(observed, p.name);
    if (!have) {
      plan.changes.push_back({ChangeKind::LoadPool, p.name, "missing"});
    } else if (!poolMatches(p, *have)) {
      plan.changes.push_back({ChangeKind::LoadPool, p.name, "differs: addrs (charon has base " + have->base +
                                                                ", size " + std::to_string(have->size) + ")"});
    }
  }
  for (const auto& c : desired.conns) {
    const auto* have = findConn(observed, c.name);
    if (!have) {
      plan.changes.push_back({ChangeKind::LoadConn, c.name, "missing"});
      continue;
    }
    std::string why = connDifference(c, have->body);
    if (!why.empty()) {
      plan.changes.push_back({ChangeKind::LoadConn, c.name, why});
    }
  }
  return plan;
}

ApplyResult applyPlan(ViciClient& client, const CharonConfig& desired, const Plan& plan) {
  ApplyResult r;
  r.plan = plan;
  for (const auto& ch : plan.changes) {
    ViciStatus st = applyChange(client, desired, ch);
    if (st) {
      ++r.applied;
      continue;
    }
    r.errors.push_back(st.error());
    if (st.error().isTransport()) {
      break;
    }
  }
  return r;
}

ViciResult<ApplyResult> reconcile(ViciClient& client, const CharonConfig& desired) {
  auto o = observe(client);
  if (!o) {
    return o.error();
  }
  return applyPlan(client, desired, planReconcile(desired, *o));
}

}  // namespace bulwark::vpn
