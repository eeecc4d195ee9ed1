#include <iostream>

#include "bulwark/firewall/expectations.h"
#include "compiled.h"
#include "output.h"

namespace bulwark::cli {

int runWhy(const WhyArgs& args, const GlobalOptions& opts) {
  auto parsed = policies::parsePortSpec(args.service);
  if (!parsed.spec) {
    std::cerr << "bulwarkctl why: bad service '" << args.service << "': " << parsed.error << '\n';
    return kExitUsage;
  }
  auto c = loadCompiled(args.policy, opts);
  if (!c) return kExitInvalid;
  const auto& policy = c->loaded.policy;
  firewall::CompileOptions copts;
  auto routes = firewall::routesFromPolicy(policy, args.libipsec ? copts.libipsecInterface : "");
  auto fam = policies::Family::V4;
  if (auto d = policies::IpAddress::parse(args.dst); d && !d->isV4()) fam = policies::Family::V6;
  auto path = args.libipsec ? firewall::IpsecPath::Libipsec : firewall::IpsecPath::Kernel;
  auto src = firewall::placeEndpoint(policy, routes, args.src, fam, path, copts);
  auto dst = firewall::placeEndpoint(policy, routes, args.dst, fam, firewall::IpsecPath::Kernel, copts);
  if (!src || !dst) {
    std::cerr << "bulwarkctl why: '" << (src ? args.dst : args.src)
              << "' is neither an address nor a host, segment, zone or VPN group of the policy\n";
    return kExitUsage;
  }
  if (!args.iif.empty()) src->iif = args.iif;
  const auto& spec = *parsed.spec;
  std::uint8_t proto = policies::protocolNumber(spec.protocol);
  firewall::Packet pkt{src->iif, src->address, dst->address, proto, spec.ports.first, src->viaIpsec};
  auto ev = firewall::evaluate(c->compiled.ruleset, routes, pkt);
  const auto& pools = c->compiled.pools;
  auto perBackend = firewall::evaluatePerBackend(c->compiled.ruleset, pools, routes, pkt, ev);
  const firewall::DnatPool* pool = perBackend.empty() ? nullptr : perBackend.front().pool;
  if (opts.json) {
    nlohmann::json backends = nlohmann::json::array();
    for (const auto& b : perBackend) {
      const auto& be = b.pool->backends[b.backend];
      backends.push_back({{"backend", be.name},
                          {"address", be.address.str()},
                          {"accepted", b.evaluation.accepted},
                          {"decided_by", b.evaluation.decidedBy.what},
                          {"rule_location", b.evaluation.decidedBy.where.str()}});
    }
    std::cout << nlohmann::json{{"accepted", ev.accepted},
                                {"src", pkt.src.str()},
                                {"dst", pkt.dst.str()},
                                {"iif", pkt.iif},
                                {"oif", ev.oif},
                                {"via_ipsec", pkt.viaIpsec},
                                {"dnat_to", ev.dnatTo ? ev.dnatTo->str() : ""},
                                {"decided_by", ev.decidedBy.what},
                                {"rule_location", ev.decidedBy.where.str()},
                                {"chain", ev.decidingChain},
                                {"rule", ev.decidingRule},
                                {"trace", ev.trace},
                                {"dnat_map", ev.dnatMap},
                                {"dnat_mode", pool ? std::string(policies::dnatModeName(pool->mode)) : ""},
                                {"health_check", pool ? pool->check : ""},
                                {"depends_on_health", pool != nullptr},
                                {"backends", backends}}
                     .dump(2)
              << '\n';
    return kExitOk;
  }
  std::cout << spec.str() << " " << pkt.src.str() << " (in " << pkt.iif << (pkt.viaIpsec ? ", via IPsec" : "")
            << ") -> " << args.dst << " " << pkt.dst.str();
  if (ev.dnatTo) {
    std::cout << " (DNAT to " << ev.dnatTo->str();
    if (pool) {
      for (const auto& b : pool->backends) {
        if (b.address == *ev.dnatTo) {
          std::cout << ", " << b.name;
          break;
        }
      }
    }
    std::cout << ")";
  }
  std::cout << ": " << (ev.accepted ? "ACCEPTED" : "DROPPED") << '\n';
  std::cout << "  decided by: " << ev.decidedBy.what;
  if (!ev.decidedBy.where.file.empty()) std::cout << " at " << ev.decidedBy.where.str();
  std::cout << '\n';
  if (!ev.decidingChain.empty()) std::cout << "  in chain " << ev.decidingChain << ": " << ev.decidingRule << '\n';
  std::cout << "  path:\n";
  for (const auto& t : ev.trace) std::cout << "    " << t << '\n';
  if (pool) {
    const bool balance = pool->mode == policies::DnatMode::Balance;
    std::string names;
    for (const auto& b : pool->backends) names += (names.empty() ? "" : balance ? ", " : ", then ") + b.name;
    std::cout << "  depends on health: map " << pool->map << " ("
              << (balance ? "balance over " : "failover: ") << names
              << (pool->check.empty() ? ", no check" : "; check " + pool->check)
              << ") names the backend; shown with every backend up. Per backend:\n";
    for (const auto& b : perBackend) {
      const auto& be = b.pool->backends[b.backend];
      const auto& x = b.evaluation;
      std::cout << "    via " << be.name << " (" << be.address.str() << "): " << (x.accepted ? "ACCEPTED" : "DROPPED")
                << " by " << x.decidedBy.what;
      if (!x.decidedBy.where.file.empty()) std::cout << " at " << x.decidedBy.where.str();
      std::cout << '\n';
    }
  }
  return kExitOk;
}

}  // namespace bulwark::cli
