// get-pools: the loaded pools, optionally with their leases.
#include "bulwark/vpn/vici_commands.h"

namespace bulwark::vpn::vici {

ViciResult<std::vector<PoolInfo>> getPools(ViciClient& c, bool leases) {
  Message req;
  if (leases) {
    req.add("leases", "yes");
  }
  auto r = c.call("get-pools", req);
  if (!r) {
    return r.error();
  }
  std::vector<PoolInfo> out;
  for (const auto& e : r->entries()) {
    if (e.kind != Entry::Kind::Section) {
      continue;
    }
    PoolInfo p;
    p.name = e.name;
    p.base = e.section.get("base");
    p.size = e.section.number("size");
    p.online = e.section.number("online");
    p.offline = e.section.number("offline");
    if (const Section* ls = e.section.section("leases")) {
      for (const auto& l : ls->entries()) {
        if (l.kind == Entry::Kind::Section) {
          p.leases.push_back({l.section.get("address"), l.section.get("identity"), l.section.get("status")});
        }
      }
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace bulwark::vpn::vici
