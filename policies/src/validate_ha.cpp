#include "validate_ha.h"

#include <algorithm>
#include <map>

#include "bulwark/policies/ha.h"
#include "bulwark/policies/resolve.h"
#include "yaml_reader.h"

namespace bulwark::policies::detail {

namespace {

// Below this, a returning node with plain `preempt` takes over before conntrackd has resent
// the connection state over the sync link (~1 s measured), commits an empty cache and every
// established connection is dropped as invalid (TESTING.md, "An HA gateway pair").
constexpr int kMinPreemptSeconds = 5;

std::string fam(const IpAddress& a) { return a.isV4() ? "IPv4" : "IPv6"; }

class HaValidator {
 public:
  HaValidator(const Policy& p, Diagnostics& out) : p_(p), ha_(*p.ha), out_(out) {}

  void run() {
    checkNodes();
    checkSync();
    floating_ = floatingAddresses(p_);
    checkFloating();
    for (const auto& n : ha_.nodes) checkNode(n);
    checkControlBoth();
    checkVrrp();
    checkFailback();
  }

 private:
  // ---- the two nodes --------------------------------------------------------------------
  void checkNodes() {
    if (ha_.nodes.size() != 2) {
      out_.error(ha_.at("nodes"), "an HA pair has exactly two nodes, got " + std::to_string(ha_.nodes.size()),
                 "list this gateway and its peer under 'nodes'");
    }
    std::map<std::string, const HaNode*> seen;
    for (const auto& n : ha_.nodes) {
      if (n.name.empty()) continue;
      auto [it, inserted] = seen.emplace(n.name, &n);
      if (!inserted) {
        out_.error(n.at("name"), "duplicate node name '" + n.name + "': already used at " +
                                     it->second->at("name").str());
      }
    }
  }

  // ---- the sync link --------------------------------------------------------------------
  void checkSync() {
    if (!ha_.syncInterface.empty()) {
      checkSyncInterface();
    } else if (!ha_.syncSegment.name.empty()) {
      checkSyncSegment();
    }
  }

  void checkSyncInterface() {
    const auto& ifname = ha_.syncInterface;
    auto where = ha_.at("sync.interface");
    if (p_.gateway && (ifname == p_.gateway->uplink || ifname == p_.gateway->trunk)) {
      out_.error(where, "the sync interface '" + ifname + "' is the gateway's " +
                            (ifname == p_.gateway->uplink ? "uplink" : "trunk"),
                 "the state sync and the VRRP adverts need a link of their own (or a segment: 'segment: NAME')");
    }
    for (const auto& s : p_.segments) {
      if (segmentInterface(p_, s) == ifname) {
        out_.error(where, "the sync interface '" + ifname + "' is segment '" + s.name + "''s interface",
                   "to sync over that segment, write 'sync: { segment: " + s.name + " }'");
      }
    }
    std::vector<const HaNode*> with;
    for (const auto& n : ha_.nodes) {
      if (!n.sync) {
        if (n.fields.count("sync") == 0) {
          out_.error(n.at("name"), "node '" + n.name + "' has no 'sync' address on the sync interface '" + ifname + "'",
                     "give it one with its prefix length, e.g. 'sync: 10.255.0.1/30'");
        }
        continue;
      }
      if (!n.sync->ip.isV4()) {
        out_.error(n.at("sync"), "the sync address " + n.sync->str() + " of node '" + n.name + "' is not IPv4",
                   "keepalived sends its VRRP adverts and conntrackd its state to the peer over IPv4");
        continue;
      }
      for (const auto* other : with) {
        if (other->sync->ip == n.sync->ip) {
          out_.error(n.at("sync"), "node '" + n.name + "' has the same sync address " + n.sync->ip.str() +
                                       " as node '" + other->name + "'");
        } else if (!other->sync->subnet().contains(n.sync->ip) || !n.sync->subnet().contains(other->sync->ip)) {
          out_.error(n.at("sync"), "the sync address " + n.sync->str() + " of node '" + n.name +
                                       "' is not on the same subnet as node '" + other->name + "''s " +
                                       other->sync->str(),
                     "the nodes reach each other directly on the sync link: one subnet, the same length");
        }
      }
      with.push_back(&n);
    }
  }

  void checkSyncSegment() {
    const auto& ref = ha_.syncSegment;
    const auto* s = p_.findSegment(ref.name);
    if (s == nullptr) {
      unknownSegment(ref);
      return;
    }
    if (!s->ipv4) {
      out_.error(ref.where, "the sync segment '" + s->name + "' has no IPv4 subnet",
                 "keepalived sends its VRRP adverts and conntrackd its state to the peer over IPv4");
      return;
    }
    for (const auto& n : ha_.nodes) {
      if (n.sync) {
        out_.error(n.at("sync"), "node '" + n.name + "' gives a 'sync' address, but the pair syncs over segment '" +
                                     s->name + "'",
                   "its address on that segment is its sync address: give it under 'segments', drop 'sync'");
      } else if (!haSyncAddress(p_, n)) {
        out_.error(n.at("name"), "node '" + n.name + "' has no IPv4 address on the sync segment '" + s->name + "'",
                   "give it one under 'segments: { " + s->name + ": ... }'");
      }
    }
  }

  // ---- what floats -----------------------------------------------------------------------
  void checkFloating() {
    if (floating_.empty()) {
      out_.error(ha_.where, "nothing floats between the nodes",
                 "give 'uplink' (the pair's address on the uplink, e.g. 198.51.100.1/24) or segments with a 'gateway'");
      return;
    }
    std::map<IpAddress, const FloatingAddress*> seen;
    for (const auto& f : floating_) {
      auto [it, inserted] = seen.emplace(f.address.ip, &f);
      if (!inserted) {
        out_.error(f.where, "address " + f.address.ip.str() + " floats twice: also as " + it->second->origin +
                                " at " + it->second->where.str());
      }
      if (const auto* h = hostOf(f.address.ip)) {
        out_.error(f.where, "floating address " + f.address.ip.str() + " is host '" + h->name + "''s address",
                   "a floating address belongs to whichever node is active, never to a server");
      }
    }
    if (!ha_.floatingListed) return;
    for (const auto& fl : ha_.floating) {
      if (fl.uplink || fl.segment.name.empty()) continue;
      const auto* s = p_.findSegment(fl.segment.name);
      if (s == nullptr) {
        unknownSegment(fl.segment);
        continue;
      }
      const auto& cfg = fl.address.isV4() ? s->ipv4 : s->ipv6;
      if (!cfg || !cfg->subnet.contains(fl.address)) {
        out_.error(fl.at("address"), "floating address " + fl.address.str() + " is outside segment '" + s->name + "'" +
                                         (cfg ? " (" + cfg->subnet.str() + ")" : " (no " + fam(fl.address) + " subnet)"));
      }
    }
    for (const auto& s : p_.segments) {
      for (const auto* cfg : {&s.ipv4, &s.ipv6}) {
        if (!*cfg || !(*cfg)->gateway) continue;
        const auto& gw = *(*cfg)->gateway;
        if (!seen.count(gw)) {
          out_.warning(s.at(cfg == &s.ipv4 ? "ipv4" : "ipv6"),
                       "gateway address " + gw.str() + " of segment '" + s.name +
                           "' does not float: after a failover its hosts have no gateway",
                       "add '{ address: " + gw.str() + ", segment: " + s.name + " }' to 'ha.floating'");
        }
      }
    }
    bool onUplink = std::any_of(floating_.begin(), floating_.end(),
                                [](const FloatingAddress& f) { return f.segment.empty(); });
    if (!onUplink) {
      out_.warning(ha_.at("floating"), "no address floats on the uplink: upstream routes to one node only",
                   "add the pair's uplink address: '{ address: 198.51.100.1/24, uplink: true }'");
    }
  }

  // ---- one node's own addresses ------------------------------------------------------------
  void checkNode(const HaNode& n) {
    if (n.name.empty()) return;
    checkNodeUplink(n);
    for (const auto& sa : n.segments) checkNodeSegment(n, sa);
    if (n.sync) own(n, n.sync->ip, n.at("sync"));
    checkCoverage(n);
    if (n.control) checkNodeControl(n);
  }

  void checkNodeUplink(const HaNode& n) {
    for (const auto& a : n.uplink) {
      own(n, a.ip, n.at("uplink"));
      bool anyOfFamily = false, inside = false;
      for (const auto& f : floating_) {
        if (!f.segment.empty() || f.address.ip.family() != a.ip.family() || f.address.length == f.address.ip.bits()) {
          continue;
        }
        anyOfFamily = true;
        inside = inside || f.address.subnet().contains(a.ip);
      }
      if (anyOfFamily && !inside) {
        out_.error(n.at("uplink"), "uplink address " + a.str() + " of node '" + n.name +
                                       "' is not on the subnet of the pair's floating uplink address",
                   "both nodes and the floating address share the uplink's subnet");
      }
    }
  }

  void checkNodeSegment(const HaNode& n, const HaSegmentAddresses& sa) {
    const auto* s = p_.findSegment(sa.segment.name);
    if (s == nullptr) {
      unknownSegment(sa.segment);
      return;
    }
    for (std::size_t i = 0; i < sa.addresses.size(); ++i) {
      const auto& a = sa.addresses[i];
      const auto& where = sa.where[i];
      const auto& cfg = a.isV4() ? s->ipv4 : s->ipv6;
      if (!cfg) {
        out_.error(where, "node '" + n.name + "' has an " + fam(a) + " address on segment '" + s->name +
                              "', which has no " + fam(a) + " subnet");
        continue;
      }
      if (!cfg->subnet.contains(a)) {
        out_.error(where, "address " + a.str() + " of node '" + n.name + "' is outside its segment '" + s->name +
                              "' (" + cfg->subnet.str() + ")");
        continue;
      }
      if (a.isV4() && cfg->subnet.length() < 31 && (a == cfg->subnet.address() || a == cfg->subnet.last())) {
        out_.error(where, "address " + a.str() + " of node '" + n.name + "' is the network or broadcast address of " +
                              cfg->subnet.str());
        continue;
      }
      if (const auto* h = hostOf(a)) {
        out_.error(where, "address " + a.str() + " of node '" + n.name + "' is host '" + h->name + "''s address");
      }
      own(n, a, where);
    }
  }

  // Every floating address that has a subnet (a segment gateway, the uplink address) needs an
  // address of the node's own on that subnet: keepalived moves only the floating one, and the
  // standby must stay reachable (and keep its connected routes) without it.
  void checkCoverage(const HaNode& n) {
    for (const auto& f : floating_) {
      if (f.address.length == f.address.ip.bits()) continue;  // a host address (a VIP): no subnet
      auto subnet = f.address.subnet();
      bool has = false;
      if (f.segment.empty()) {
        has = std::any_of(n.uplink.begin(), n.uplink.end(), [&](const InterfaceAddress& a) { return subnet.contains(a.ip); });
      } else {
        for (const auto& sa : n.segments) {
          if (sa.segment.name != f.segment) continue;
          has = has || std::any_of(sa.addresses.begin(), sa.addresses.end(),
                                   [&](const IpAddress& a) { return subnet.contains(a); });
        }
      }
      if (!has) {
        std::string on = f.segment.empty() ? "the uplink" : "segment '" + f.segment + "'";
        out_.error(n.at("name"), "node '" + n.name + "' has no " + fam(f.address.ip) + " address of its own on " + on +
                                     ", where " + f.address.ip.str() + " floats",
                   "give it one in " + subnet.str() + " under " +
                       (f.segment.empty() ? std::string("'uplink'") : "'segments: { " + f.segment + ": ... }'"));
      }
    }
  }

  void checkNodeControl(const HaNode& n) {
    auto where = n.at("control");
    if (!p_.gateway || !p_.gateway->control) {
      out_.error(where, "node '" + n.name + "' has a 'control' address but the gateway has no 'control'",
                 "the nodes reach each other's control API with the settings of 'gateway.control'");
      return;
    }
    bool mine = false;
    for (const auto& sa : n.segments) {
      mine = mine || std::find(sa.addresses.begin(), sa.addresses.end(), *n.control) != sa.addresses.end();
    }
    if (!mine) {
      out_.error(where, "control address " + n.control->str() + " of node '" + n.name +
                            "' is not one of its own segment addresses",
                 "name its address on the management segment");
    }
  }

  // A pair apply sends the policy to the peer's control address and commits on both or
  // neither: with only one node reachable that way, every apply from the other would refuse.
  void checkControlBoth() {
    if (ha_.nodes.size() != 2 || !p_.gateway || !p_.gateway->control) return;
    const HaNode& a = ha_.nodes[0];
    const HaNode& b = ha_.nodes[1];
    if (a.control.has_value() == b.control.has_value()) return;
    const HaNode& with = a.control ? a : b;
    const HaNode& without = a.control ? b : a;
    out_.error(without.where, "node '" + without.name + "' has no 'control' address but node '" + with.name +
                                  "' has one (" + with.at("control").str() + ")",
               "give both nodes a 'control' address (pair applies reach the peer there) or neither");
  }

  // A node's own address: not floating, not another node's (or the same node's twice).
  void own(const HaNode& n, const IpAddress& a, const Location& where) {
    for (const auto& f : floating_) {
      if (f.address.ip == a) {
        out_.error(where, "address " + a.str() + " of node '" + n.name + "' is also a floating address (" + f.origin +
                              " at " + f.where.str() + ")",
                   "a node's own address and the address that moves between the nodes must differ");
        return;
      }
    }
    auto [it, inserted] = owned_.emplace(a, std::make_pair(&n, where));
    if (!inserted) {
      out_.error(where, "address " + a.str() + " of node '" + n.name + "' is also node '" + it->second.first->name +
                            "''s at " + it->second.second.str());
    }
  }

  // ---- VRRP and failback -----------------------------------------------------------------
  void checkVrrp() {
    auto instances = static_cast<int>(floatingInterfaces(p_).size());
    if (instances > 0 && ha_.vrrpId + instances - 1 > 255) {
      out_.error(ha_.at("vrrp.id"), "VRRP ids " + std::to_string(ha_.vrrpId) + "-" +
                                        std::to_string(ha_.vrrpId + instances - 1) + " (one per interface with a " +
                                        "floating address) go past 255",
                 "start at " + std::to_string(256 - instances) + " or lower");
    }
  }

  void checkFailback() {
    if (ha_.preemptDelay) {
      auto where = ha_.at("preempt_delay");
      if (ha_.failback != HaFailback::Preempt) {
        out_.error(where, "'preempt_delay' needs 'failback: preempt'",
                   "with the default 'failback: nopreempt' a returning node stays standby");
      } else if (*ha_.preemptDelay < kMinPreemptSeconds) {
        out_.error(where, "preempt_delay " + std::to_string(*ha_.preemptDelay) + " s is shorter than " +
                              std::to_string(kMinPreemptSeconds) + " s",
                   "a returning node must wait until conntrackd has resent the connection state, or it takes "
                   "over with an empty table and drops every established connection");
      }
      return;
    }
    if (ha_.failback == HaFailback::Preempt && 3 * ha_.advertCentis < kMinPreemptSeconds * 100) {
      auto advert = std::to_string(ha_.advertCentis / 100);
      if (ha_.advertCentis % 100 != 0) {
        advert += "." + std::to_string(ha_.advertCentis % 100 / 10) +
                  (ha_.advertCentis % 10 ? std::to_string(ha_.advertCentis % 10) : "");
      }
      out_.error(ha_.at("failback"), "plain 'preempt' with " + advert +
                                         " s adverts takes over before conntrackd has resent the connection state",
                 "the returning node would commit an empty table and drop every established connection: use "
                 "'preempt_delay: 5' (or more), or 'failback: nopreempt'");
    }
  }

  // ---- helpers ---------------------------------------------------------------------------
  const Host* hostOf(const IpAddress& a) const {
    for (const auto& h : p_.hosts) {
      if (std::find(h.addresses.begin(), h.addresses.end(), a) != h.addresses.end()) return &h;
    }
    return nullptr;
  }

  void unknownSegment(const NameRef& ref) {
    if (ref.name.empty()) return;
    std::vector<std::string_view> names;
    for (const auto& s : p_.segments) names.push_back(s.name);
    auto guess = closestMatch(ref.name, names);
    out_.error(ref.where, "unknown segment '" + ref.name + "'", guess.empty() ? "" : "did you mean '" + guess + "'?");
  }

  const Policy& p_;
  const Ha& ha_;
  Diagnostics& out_;
  std::vector<FloatingAddress> floating_;
  std::map<IpAddress, std::pair<const HaNode*, Location>> owned_;
};

}  // namespace

void validateHa(const Policy& policy, Diagnostics& out) {
  if (!policy.ha) return;
  HaValidator(policy, out).run();
}

}  // namespace bulwark::policies::detail
