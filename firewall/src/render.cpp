#include "bulwark/firewall/render.h"

#include <sstream>

#include "bulwark/base/overloaded.h"
#include "render_words.h"

namespace bulwark::firewall {

std::string selectorText(Selector s) {
  switch (s) {
    case Selector::IifName: return "iifname";
    case Selector::OifName: return "oifname";
    case Selector::Ip4Saddr: return "ip saddr";
    case Selector::Ip4Daddr: return "ip daddr";
    case Selector::Ip6Saddr: return "ip6 saddr";
    case Selector::Ip6Daddr: return "ip6 daddr";
    case Selector::L4Proto: return "meta l4proto";
    case Selector::ThDport: return "th dport";
  }
  return "?";
}

std::string keyText(const std::vector<Selector>& key) {
  std::string s;
  for (auto sel : key) s += (s.empty() ? "" : " . ") + selectorText(sel);
  return s;
}

std::string portsText(const PortRange& r) {
  return r.first == r.last ? std::to_string(r.first) : std::to_string(r.first) + "-" + std::to_string(r.last);
}

namespace {

std::string keyType(KeyType k) {
  switch (k) {
    case KeyType::IfName: return "ifname";
    case KeyType::Ipv4Addr: return "ipv4_addr";
    case KeyType::Ipv6Addr: return "ipv6_addr";
    case KeyType::InetProto: return "inet_proto";
    case KeyType::InetService: return "inet_service";
    case KeyType::Slot: return "integer";  // only in `typeof numgen ...` (setType)
  }
  return "?";
}

std::string proto(std::uint8_t p) {
  switch (p) {
    case 1: return "icmp";
    case 6: return "tcp";
    case 17: return "udp";
    case 50: return "esp";
    case 58: return "ipv6-icmp";
    case 132: return "sctp";
    default: return std::to_string(p);
  }
}

std::string prefix(const Prefix& p) { return p.isHost() ? p.address().str() : p.str(); }

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') continue;  // never produced by Bulwark; keep nft's parser happy
    out += c;
  }
  return out + "\"";
}

std::string unit(RateUnit u) {
  switch (u) {
    case RateUnit::Second: return "second";
    case RateUnit::Minute: return "minute";
    case RateUnit::Hour: return "hour";
  }
  return "second";
}

std::string ctState(std::uint32_t mask) {
  std::string s;
  auto add = [&](std::uint32_t bit, const char* name) {
    if (mask & bit) s += (s.empty() ? "" : ",") + std::string(name);
  };
  add(kCtInvalid, "invalid");
  add(kCtEstablished, "established");
  add(kCtRelated, "related");
  add(kCtNew, "new");
  return s;
}

std::string expr(const Expr& e) {
  return std::visit(
      Overloaded{
          [](const MatchCtState& m) { return "ct state " + ctState(m.mask); },
          [](const MatchCtDirection& m) { return std::string("ct direction ") + (m.reply ? "reply" : "original"); },
          [](const MatchIfName& m) { return selectorText(m.which) + (m.negate ? " != " : " ") + quote(m.name); },
          [](const MatchNfProto& m) {
            return std::string("meta nfproto ") + (m.family == policies::Family::V4 ? "ipv4" : "ipv6");
          },
          [](const MatchL4Proto& m) { return "meta l4proto " + proto(m.proto); },
          [](const MatchPrefix& m) { return selectorText(m.which) + (m.negate ? " != " : " ") + prefix(m.prefix); },
          [](const MatchPort& m) { return "th dport " + portsText(m.ports); },
          [](const MatchLookup& m) { return keyText(m.key) + (m.negate ? " != @" : " @") + m.set; },
          [](const MatchIpsecIn&) { return std::string("meta ipsec exists"); },
          [](const MatchFibSaddrMissing&) { return std::string("fib saddr . iif oif missing"); },
          [](const MatchTcpSynOnly&) { return std::string("tcp flags & (fin | syn | rst | ack) == syn"); },
          [](const MatchNotTcpSyn&) { return std::string("tcp flags & (fin | syn | rst | ack) != syn"); },
          [](const StmtCounter&) { return std::string("counter"); },
          [](const StmtLimit& s) { return limitText(s); },
          [](const StmtMeterOver& s) {
            return "add @" + s.set + " { " + keyText(s.key) + " " + limitText(s.limit) + " }";
          },
          [](const StmtConnLimitOver& s) {
            return "add @" + s.set + " { " + keyText(s.key) + " ct count over " + std::to_string(s.count) + " }";
          },
          [](const StmtLog& s) { return "log prefix " + quote(s.prefix); },
          [](const StmtDnat& s) {
            if (s.to.isV4()) return "dnat ip to " + s.to.str() + (s.port ? ":" + std::to_string(*s.port) : "");
            return s.port ? "dnat ip6 to [" + s.to.str() + "]:" + std::to_string(*s.port) : "dnat ip6 to " + s.to.str();
          },
          [](const StmtDnatMap& s) {
            const bool v4 = s.family == policies::Family::V4;
            std::string key = s.numgenMod ? "numgen inc mod " + std::to_string(s.numgenMod)
                                           : std::string(v4 ? "ip daddr" : "ip6 daddr");
            return std::string("dnat ") + (v4 ? "ip" : "ip6") + " to " + key + " map @" + s.map +
                   (s.port ? " : " + std::to_string(*s.port) : "");
          },
          [](const StmtSnat& s) { return std::string("snat ") + (s.to.isV4() ? "ip" : "ip6") + " to " + s.to.str(); },
          [](const StmtMasquerade&) { return std::string("masquerade"); },
          [](const StmtVmap& s) { return keyText(s.key) + " vmap @" + s.map; },
      },
      e);
}

std::string keyPart(const KeyPart& k) {
  return std::visit(Overloaded{
                        [](const std::string& s) { return quote(s); },
                        [](const Prefix& p) { return prefix(p); },
                        [](std::uint8_t p) { return proto(p); },
                        [](const PortRange& r) { return portsText(r); },
                        [](std::uint32_t slot) { return std::to_string(slot); },
                    },
                    k);
}

std::string hookName(Hook h) {
  switch (h) {
    case Hook::Prerouting: return "prerouting";
    case Hook::Input: return "input";
    case Hook::Forward: return "forward";
    case Hook::Output: return "output";
    case Hook::Postrouting: return "postrouting";
  }
  return "?";
}

// "type ipv4_addr . inet_service", "type ipv4_addr : ipv4_addr", or for numgen-keyed maps
// (no named key type exists for them) "typeof numgen inc mod 2 : ip daddr".
std::string setType(const SetDef& set) {
  const bool v6 = set.addressMap == policies::Family::V6;
  if (set.numgenMod != 0) {
    return "typeof numgen inc mod " + std::to_string(set.numgenMod) + " : " + (v6 ? "ip6 daddr" : "ip daddr");
  }
  std::string type;
  for (auto k : set.key) type += (type.empty() ? "" : " . ") + keyType(k);
  if (set.addressMap) return "type " + type + " : " + (v6 ? "ipv6_addr" : "ipv4_addr");
  return "type " + type + (set.verdictMap ? " : verdict" : "");
}

bool isMap(const SetDef& set) { return set.verdictMap || set.addressMap; }

std::string setFlags(const SetDef& set) {
  std::string flags;
  auto add = [&](bool on, const char* f) {
    if (on) flags += (flags.empty() ? "" : ",") + std::string(f);
  };
  add(set.interval, "interval");
  add(set.dynamic, "dynamic");
  add(set.timeoutSec != 0, "timeout");
  return flags;
}

}  // namespace

std::string limitText(const StmtLimit& l) {
  return std::string("limit rate ") + (l.over ? "over " : "") + std::to_string(l.rate) + "/" + unit(l.unit) +
         " burst " + std::to_string(l.burst) + " packets";
}

std::string verdictText(const Verdict& v) {
  switch (v.kind) {
    case VerdictKind::None: return "";
    case VerdictKind::Accept: return "accept";
    case VerdictKind::Drop: return "drop";
    case VerdictKind::Reject: return "reject";
    case VerdictKind::Jump: return "jump " + v.chain;
    case VerdictKind::Goto: return "goto " + v.chain;
    case VerdictKind::Return: return "return";
  }
  return "";
}

std::string elementText(const SetElement& e, bool bareHosts) {
  std::string s;
  for (const auto& p : e.key) {
    s += s.empty() ? "" : " . ";
    s += std::visit(Overloaded{
                        [](const std::string& name) { return "\"" + name + "\""; },
                        [&](const Prefix& pfx) { return bareHosts && pfx.isHost() ? pfx.address().str() : pfx.str(); },
                        [](std::uint8_t proto) { return std::to_string(proto); },
                        [](const PortRange& r) { return portsText(r); },
                        [](std::uint32_t slot) { return std::to_string(slot); },
                    },
                    p);
  }
  if (!e.jumpTo.empty()) {
    s += " : goto " + e.jumpTo;
  }
  if (e.target) {
    s += " : " + e.target->str();
  }
  return s;
}

std::string renderRule(const Rule& r) {
  std::string s;
  for (const auto& e : r.exprs) s += (s.empty() ? "" : " ") + expr(e);
  auto v = verdictText(r.verdict);
  if (!v.empty()) s += (s.empty() ? "" : " ") + v;
  return s + " comment " + quote(r.comment());
}

std::string renderSetElement(const SetDef&, const SetElement& e) {
  std::string s;
  for (const auto& k : e.key) s += (s.empty() ? "" : " . ") + keyPart(k);
  if (!e.jumpTo.empty()) s += " : goto " + e.jumpTo;  // the programmer writes NFT_GOTO
  if (e.target) s += " : " + e.target->str();
  return s;
}

std::string renderSetHeader(const SetDef& set) {
  std::string s = std::string(isMap(set) ? "map " : "set ") + set.name + " { " + setType(set) + ";";
  if (auto flags = setFlags(set); !flags.empty()) s += " flags " + flags + ";";
  if (set.timeoutSec) s += " timeout " + std::to_string(set.timeoutSec) + "s;";
  if (set.size) s += " size " + std::to_string(set.size) + ";";
  return s + " }";
}

std::string renderChainHeader(const Chain& c) {
  if (!c.base) return "chain " + c.name;
  const auto& b = *c.base;
  return "chain " + c.name + " { type " + (b.type == ChainType::Nat ? "nat" : "filter") + " hook " +
         hookName(b.hook) + " priority " + std::to_string(b.priority) + "; policy " +
         (b.policyDrop ? "drop" : "accept") + "; }";
}

std::string renderTable(const Ruleset& rs) {
  std::ostringstream out;
  out << "table inet " << kTableName << " {\n";
  for (const auto& set : rs.sets) {
    out << "\t" << (isMap(set) ? "map " : "set ") << set.name << " {\n";
    out << "\t\t" << setType(set) << "\n";
    if (set.size) out << "\t\tsize " << set.size << "\n";
    if (auto flags = setFlags(set); !flags.empty()) out << "\t\tflags " << flags << "\n";
    if (set.timeoutSec) out << "\t\ttimeout " << set.timeoutSec << "s\n";
    if (!set.comment.empty()) out << "\t\tcomment " << quote(set.comment) << "\n";
    if (!set.elements.empty()) {
      out << "\t\telements = { ";
      for (std::size_t i = 0; i < set.elements.size(); ++i) {
        out << (i ? ",\n\t\t\t     " : "") << renderSetElement(set, set.elements[i]);
      }
      out << " }\n";
    }
    out << "\t}\n\n";
  }
  for (const auto& c : rs.chains) {
    out << "\tchain " << c.name << " {\n";
    if (!c.comment.empty()) out << "\t\tcomment " << quote(c.comment) << "\n";
    if (c.base) {
      const auto& b = *c.base;
      out << "\t\ttype " << (b.type == ChainType::Nat ? "nat" : "filter") << " hook " << hookName(b.hook)
          << " priority " << b.priority << "; policy " << (b.policyDrop ? "drop" : "accept") << ";\n";
    }
    for (const auto& r : c.rules) out << "\t\t" << renderRule(r) << "\n";
    out << "\t}\n\n";
  }
  out << "}\n";
  return out.str();
}

std::string renderReplaceScript(const Ruleset& rs) {
  return "table inet " + std::string(kTableName) + "\ndelete table inet " + kTableName + "\n" + renderTable(rs);
}

}  // namespace bulwark::firewall
