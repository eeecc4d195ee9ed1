// nf_tables expressions read back from the kernel → IR. Recognises exactly the sequences
// lower() emits (and the equivalent ones nft emits for the same statements); anything else
// makes the whole rule unknown, with a description of where matching stopped.
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_tuple_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>

#include <cstdio>
#include <sstream>

#include "nl/ops.h"

namespace bulwark::firewall::nl {
namespace {

using policies::Family;

std::uint32_t kernelReg(std::uint32_t r32) {
  return r32 % 4 == 0 ? NFT_REG_1 + r32 / 4 : NFT_REG32_00 + r32;
}

template <class T>
const T* opAt(const std::vector<Op>& ops, std::size_t k) {
  return k < ops.size() ? std::get_if<T>(&ops[k]) : nullptr;
}

bool allZero(const Bytes& b) {
  for (auto c : b) {
    if (c != 0) {
      return false;
    }
  }
  return true;
}

std::uint32_t hostU32(const Bytes& b) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < b.size() && i < 4; ++i) {
    v |= static_cast<std::uint32_t>(b[i]) << (8 * i);
  }
  return v;
}

std::uint16_t beU16(const Bytes& b) {
  return static_cast<std::uint16_t>((b[0] << 8) | b[1]);
}

std::string ifname(const Bytes& b) {
  std::string s;
  for (auto c : b) {
    if (c == 0) {
      break;
    }
    s.push_back(static_cast<char>(c));
  }
  return s;
}

// Contiguous leading-ones mask → its length, -1 otherwise.
int maskBits(const Bytes& mask) {
  int bits = 0;
  bool ended = false;
  for (auto byte : mask) {
    for (int i = 7; i >= 0; --i) {
      bool set = ((byte >> i) & 1) != 0;
      if (set && ended) {
        return -1;
      }
      if (set) {
        ++bits;
      } else {
        ended = true;
      }
    }
  }
  return bits;
}

std::optional<Selector> networkSelector(std::optional<Family> fam, std::uint32_t offset, std::uint32_t len) {
  if (fam == Family::V4 && len == 4) {
    if (offset == 12) return Selector::Ip4Saddr;
    if (offset == 16) return Selector::Ip4Daddr;
  }
  if (fam == Family::V6 && len == 16) {
    if (offset == 8) return Selector::Ip6Saddr;
    if (offset == 24) return Selector::Ip6Daddr;
  }
  return std::nullopt;
}

struct Piece {
  std::optional<Expr> expr;
  std::optional<Verdict> verdict;
  std::size_t next = 0;
  std::optional<Family> needsFamily;
  bool needsTcp = false;
  bool setsFamily = false;  // MatchNfProto
  bool setsL4 = false;      // MatchL4Proto
};

class Raiser {
 public:
  explicit Raiser(const std::vector<Op>& ops) : ops_(ops) {}

  Raised run() {
    Raised out;
    std::size_t k = 0;
    while (k < ops_.size()) {
      auto piece = parse(k, family_, tcp_);
      if (!piece) {
        out.problem = "expression " + std::to_string(k) + " (" + describeOp(ops_[k]) + ")" +
                      (why_.empty() ? "" : ": " + why_);
        return out;
      }
      if (const auto* c = opAt<OpCounter>(ops_, k); c != nullptr && !out.hasCounter) {
        out.hasCounter = true;
        out.packets = c->packets;
        out.bytes = c->bytes;
      }
      if (piece->verdict) {
        if (piece->next != ops_.size()) {
          out.problem = "verdict before the end of the rule at expression " + std::to_string(k);
          return out;
        }
        out.verdict = *piece->verdict;
        break;
      }
      // A protocol dependency is implicit when the very next piece needs exactly it.
      if (const auto* nf = std::get_if<MatchNfProto>(&*piece->expr)) {
        auto after = parse(piece->next, nf->family, tcp_);
        family_ = nf->family;
        if (after && after->needsFamily == nf->family) {
          k = piece->next;
          continue;
        }
      }
      if (const auto* l4 = std::get_if<MatchL4Proto>(&*piece->expr)) {
        tcp_ = l4->proto == IPPROTO_TCP;
        if (tcp_) {
          auto after = parse(piece->next, family_, true);
          if (after && after->needsTcp) {
            k = piece->next;
            continue;
          }
        }
      }
      out.exprs.push_back(*piece->expr);
      k = piece->next;
    }
    out.ok = true;
    return out;
  }

 private:
  const std::vector<Op>& ops_;
  std::optional<Family> family_;
  bool tcp_ = false;
  std::string why_;

  std::optional<Piece> fail(std::string why) {
    why_ = std::move(why);
    return std::nullopt;
  }

  // The nat at `i`, after an optional [immediate reg 2 port] (then `portImm`, and `i` moves
  // past it), that takes its address from reg 1 and is of family ip or ip6; null otherwise.
  const OpNat* natOfReg1(std::size_t& i, const OpImmData*& portImm) const {
    portImm = opAt<OpImmData>(ops_, i);
    if (portImm) {
      ++i;
    }
    const auto* nat = opAt<OpNat>(ops_, i);
    if (!nat || nat->regAddrMin != NFT_REG_1 || nat->regAddrMax != NFT_REG_1 ||
        (nat->family != NFPROTO_IPV4 && nat->family != NFPROTO_IPV6)) {
      return nullptr;
    }
    return nat;
  }

  // The port half of a nat: [immediate reg 2 port] before it and its proto range in reg 2, or
  // no port and no proto registers, with the flags Bulwark sets for either. False (why_ set)
  // for anything else.
  bool natPort(const OpImmData* portImm, const OpNat& nat, std::optional<std::uint16_t>& port) {
    std::uint32_t wantFlags = NF_NAT_RANGE_MAP_IPS;
    if (portImm) {
      if (portImm->dreg != NFT_REG_2 || portImm->data.size() != 2 || nat.regProtoMin != NFT_REG_2 ||
          nat.regProtoMax != NFT_REG_2) {
        fail("nat port Bulwark does not emit");
        return false;
      }
      port = beU16(portImm->data);
      wantFlags |= NF_NAT_RANGE_PROTO_SPECIFIED;
    } else if (nat.regProtoMin != 0 || nat.regProtoMax != 0) {
      fail("nat port register without a port");
      return false;
    }
    if (nat.flags != wantFlags) {
      fail("nat flags Bulwark does not emit");
      return false;
    }
    return true;
  }

  // After a map lookup into NFT_REG_1 at `i`: [immediate reg 2 port] nat dnat from reg 1.
  std::optional<Piece> dnatMap(std::size_t i, const std::string& map, std::uint32_t mod, Piece pc) {
    const OpImmData* portImm = nullptr;
    const auto* nat = natOfReg1(i, portImm);
    if (!nat || nat->type != NFT_NAT_DNAT) {
      return fail("map lookup not followed by the dnat Bulwark emits");
    }
    std::optional<std::uint16_t> port;
    if (!natPort(portImm, *nat, port)) {
      return std::nullopt;
    }
    const Family f = nat->family == NFPROTO_IPV4 ? Family::V4 : Family::V6;
    if (mod == 0 && pc.needsFamily && *pc.needsFamily != f) {
      return fail("dnat family differs from the address looked up");
    }
    pc.expr = StmtDnatMap{f, mod, map, port};
    pc.next = i + 1;
    return pc;
  }

  // Key loads into consecutive registers from NFT_REG_1, ended by a lookup/dynset.
  std::optional<std::vector<Selector>> parseKey(std::size_t& k, std::optional<Family> fam,
                                                std::optional<Family>& needs) {
    std::vector<Selector> key;
    std::uint32_t r = 0;
    while (k < ops_.size()) {
      std::optional<Selector> sel;
      std::uint32_t reg = 0;
      std::uint32_t len = 0;
      if (const auto* m = opAt<OpMeta>(ops_, k)) {
        reg = m->dreg;
        if (m->key == NFT_META_IIFNAME) sel = Selector::IifName, len = 16;
        else if (m->key == NFT_META_OIFNAME) sel = Selector::OifName, len = 16;
        else if (m->key == NFT_META_L4PROTO) sel = Selector::L4Proto, len = 1;
      } else if (const auto* p = opAt<OpPayload>(ops_, k)) {
        reg = p->dreg;
        len = p->len;
        if (p->base == NFT_PAYLOAD_NETWORK_HEADER) {
          sel = networkSelector(fam, p->offset, p->len);
          if (sel) {
            needs = fam;
          }
        } else if (p->base == NFT_PAYLOAD_TRANSPORT_HEADER && p->offset == 2 && p->len == 2) {
          sel = Selector::ThDport;
        }
      } else {
        break;
      }
      if (!sel || reg != kernelReg(r)) {
        return std::nullopt;
      }
      key.push_back(*sel);
      ++k;
      if (const auto* b = opAt<OpByteorder>(ops_, k);
          b != nullptr && *sel == Selector::L4Proto && b->sreg == reg && b->dreg == reg) {
        ++k;
      }
      r += (len + 3) / 4;
    }
    if (key.empty()) {
      return std::nullopt;
    }
    return key;
  }

  std::optional<Piece> parse(std::size_t k, std::optional<Family> fam, bool tcp) {
    if (k >= ops_.size()) {
      return fail("end of rule");
    }
    Piece pc;
    const Op& op = ops_[k];
    const auto cmpAt = [&](std::size_t i) { return opAt<OpCmp>(ops_, i); };

    if (const auto* ct = std::get_if<OpCt>(&op)) {
      const auto* bw = opAt<OpBitwise>(ops_, k + 1);
      const auto* c = cmpAt(k + 2);
      if (ct->key == NFT_CT_STATE && ct->dreg == NFT_REG_1 && bw && bw->len == 4 &&
          allZero(bw->xorv) && c && c->op == NFT_CMP_NEQ && c->data.size() == 4 && allZero(c->data)) {
        pc.expr = MatchCtState{hostU32(bw->mask)};
        pc.next = k + 3;
        return pc;
      }
      if (const auto* d = cmpAt(k + 1); ct->key == NFT_CT_DIRECTION && ct->dreg == NFT_REG_1 && d &&
                                         d->sreg == NFT_REG_1 && d->op == NFT_CMP_EQ && d->data.size() == 1 &&
                                         (d->data[0] == IP_CT_DIR_ORIGINAL || d->data[0] == IP_CT_DIR_REPLY)) {
        pc.expr = MatchCtDirection{d->data[0] == IP_CT_DIR_REPLY};
        pc.next = k + 2;
        return pc;
      }
      return fail("ct expression Bulwark does not emit");
    }
    if (const auto* m = std::get_if<OpMeta>(&op)) {
      const auto* c = cmpAt(k + 1);
      if (c && m->dreg == NFT_REG_1 && c->sreg == NFT_REG_1) {
        pc.next = k + 2;
        switch (m->key) {
          case NFT_META_NFPROTO:
            if (c->op == NFT_CMP_EQ && c->data.size() == 1 &&
                (c->data[0] == NFPROTO_IPV4 || c->data[0] == NFPROTO_IPV6)) {
              pc.expr = MatchNfProto{c->data[0] == NFPROTO_IPV4 ? Family::V4 : Family::V6};
              pc.setsFamily = true;
              return pc;
            }
            break;
          case NFT_META_L4PROTO:
            if (c->op == NFT_CMP_EQ && c->data.size() == 1) {
              pc.expr = MatchL4Proto{c->data[0]};
              pc.setsL4 = true;
              return pc;
            }
            break;
          case NFT_META_IIFNAME:
          case NFT_META_OIFNAME:
            if ((c->op == NFT_CMP_EQ || c->op == NFT_CMP_NEQ) && c->data.size() == 16) {
              pc.expr = MatchIfName{m->key == NFT_META_IIFNAME ? Selector::IifName : Selector::OifName,
                                    ifname(c->data), c->op == NFT_CMP_NEQ};
              return pc;
            }
            break;
          case NFT_META_SECPATH:
            if (c->op == NFT_CMP_EQ && c->data.size() == 1 && c->data[0] == 1) {
              pc.expr = MatchIpsecIn{};
              return pc;
            }
            break;
          default: break;
        }
        return fail("meta comparison Bulwark does not emit");
      }
    }
    if (const auto* fib = std::get_if<OpFib>(&op)) {
      const auto* c = cmpAt(k + 1);
      if (fib->flags == (NFTA_FIB_F_SADDR | NFTA_FIB_F_IIF | NFTA_FIB_F_PRESENT) &&
          fib->result == NFT_FIB_RESULT_OIF && c && c->op == NFT_CMP_EQ && allZero(c->data)) {
        pc.expr = MatchFibSaddrMissing{};
        pc.next = k + 2;
        return pc;
      }
      return fail("fib expression Bulwark does not emit");
    }
    if (const auto* p = std::get_if<OpPayload>(&op); p != nullptr && (cmpAt(k + 1) || opAt<OpBitwise>(ops_, k + 1))) {
      if (p->base == NFT_PAYLOAD_NETWORK_HEADER) {
        if (!fam) {
          return fail("network header load without a meta nfproto dependency");
        }
        const std::uint32_t full = *fam == Family::V4 ? 4 : 16;
        auto sel = networkSelector(fam, p->offset, full);
        if (!sel) {
          return fail("network header field Bulwark does not match");
        }
        int bits = 0;
        std::size_t ci = k + 1;
        if (const auto* bw = opAt<OpBitwise>(ops_, k + 1)) {
          if (p->len != full || bw->len != full || bw->mask.size() != full || !allZero(bw->xorv)) {
            return fail("masked address load Bulwark does not emit");
          }
          bits = maskBits(bw->mask);
          ci = k + 2;
        } else {
          if (p->len == 0 || p->len > full) {
            return fail("address load of unexpected length");
          }
          bits = static_cast<int>(p->len * 8);
        }
        const auto* c = cmpAt(ci);
        if (bits < 0 || !c || (c->op != NFT_CMP_EQ && c->op != NFT_CMP_NEQ) ||
            c->data.size() != (ci == k + 1 ? p->len : full)) {
          return fail("address comparison Bulwark does not emit");
        }
        std::array<std::uint8_t, 16> bytes{};
        std::copy(c->data.begin(), c->data.end(), bytes.begin());
        IpAddress addr = IpAddress::fromBytes(*fam, bytes);
        Prefix prefix(addr, bits);
        if (prefix.address() != addr) {
          return fail("address comparison with host bits outside the mask");
        }
        pc.expr = MatchPrefix{*sel, prefix, c->op == NFT_CMP_NEQ};
        pc.needsFamily = fam;
        pc.next = ci + 1;
        return pc;
      }
      if (p->base == NFT_PAYLOAD_TRANSPORT_HEADER && p->offset == 2 && p->len == 2) {
        const auto* c1 = cmpAt(k + 1);
        const auto* c2 = cmpAt(k + 2);
        if (c1 && c1->op == NFT_CMP_EQ && c1->data.size() == 2) {
          pc.expr = MatchPort{PortRange{beU16(c1->data), beU16(c1->data)}};
          pc.next = k + 2;
          return pc;
        }
        if (c1 && c2 && c1->op == NFT_CMP_GTE && c2->op == NFT_CMP_LTE && c1->data.size() == 2 &&
            c2->data.size() == 2) {
          pc.expr = MatchPort{PortRange{beU16(c1->data), beU16(c2->data)}};
          pc.next = k + 3;
          return pc;
        }
        return fail("port comparison Bulwark does not emit");
      }
      if (p->base == NFT_PAYLOAD_TRANSPORT_HEADER && p->offset == 13 && p->len == 1) {
        const auto* bw = opAt<OpBitwise>(ops_, k + 1);
        const auto* c = cmpAt(k + 2);
        if (tcp && bw && bw->len == 1 && bw->mask == Bytes{0x17} && allZero(bw->xorv) && c &&
            c->data == Bytes{0x02} && (c->op == NFT_CMP_EQ || c->op == NFT_CMP_NEQ)) {
          if (c->op == NFT_CMP_EQ) {
            pc.expr = MatchTcpSynOnly{};
          } else {
            pc.expr = MatchNotTcpSyn{};
          }
          pc.needsTcp = true;
          pc.next = k + 3;
          return pc;
        }
        return fail("tcp flags comparison Bulwark does not emit");
      }
      return fail("payload comparison Bulwark does not emit");
    }
    if (std::holds_alternative<OpMeta>(op) || std::holds_alternative<OpPayload>(op)) {
      std::size_t i = k;
      std::optional<Family> needs;
      auto key = parseKey(i, fam, needs);
      if (!key) {
        return fail("key loads Bulwark does not emit");
      }
      pc.needsFamily = needs;
      pc.next = i + 1;
      if (const auto* l = opAt<OpLookup>(ops_, i); l != nullptr && l->sreg == NFT_REG_1) {
        if (!l->dreg && (l->flags & ~static_cast<std::uint32_t>(NFT_LOOKUP_F_INV)) == 0) {
          pc.expr = MatchLookup{*key, l->set, (l->flags & NFT_LOOKUP_F_INV) != 0};
          return pc;
        }
        if (l->dreg && *l->dreg == NFT_REG_VERDICT && l->flags == 0) {
          pc.expr = StmtVmap{*key, l->set};
          return pc;
        }
        if (l->dreg && *l->dreg == NFT_REG_1 && l->flags == 0 && key->size() == 1 &&
            (key->front() == Selector::Ip4Daddr || key->front() == Selector::Ip6Daddr)) {
          return dnatMap(i + 1, l->set, 0, pc);
        }
        return fail("lookup Bulwark does not emit");
      }
      if (const auto* d = opAt<OpDynset>(ops_, i);
          d != nullptr && d->sregKey == NFT_REG_1 && d->op == NFT_DYNSET_OP_ADD) {
        if (const auto* lim = std::get_if<OpLimit>(&d->inner);
            lim != nullptr && lim->type == NFT_LIMIT_PKTS && (lim->flags & NFT_LIMIT_F_INV) != 0) {
          StmtMeterOver meter{d->set, *key, {}};
          const std::vector<Op> inner{*lim};
          Raiser sub(inner);
          auto one = sub.parse(0, fam, tcp);
          if (!one || !one->expr) {
            return fail("limit inside dynset Bulwark does not emit");
          }
          meter.limit = std::get<StmtLimit>(*one->expr);
          pc.expr = meter;
          return pc;
        }
        if (const auto* cl = std::get_if<OpConnlimit>(&d->inner);
            cl != nullptr && cl->flags == NFT_CONNLIMIT_F_INV) {
          pc.expr = StmtConnLimitOver{d->set, *key, cl->count};
          return pc;
        }
        return fail("dynset Bulwark does not emit");
      }
      return fail("key loads not followed by a lookup or dynset");
    }
    if (const auto* ng = std::get_if<OpNumgen>(&op)) {
      const auto* l = opAt<OpLookup>(ops_, k + 1);
      if (ng->dreg != NFT_REG_1 || ng->type != NFT_NG_INCREMENTAL || ng->offset != 0 || ng->modulus == 0 ||
          l == nullptr || l->sreg != NFT_REG_1 || !l->dreg || *l->dreg != NFT_REG_1 || l->flags != 0) {
        return fail("numgen Bulwark does not emit");
      }
      return dnatMap(k + 2, l->set, ng->modulus, pc);
    }
    if (std::holds_alternative<OpCounter>(op)) {
      pc.expr = StmtCounter{};
      pc.next = k + 1;
      return pc;
    }
    if (const auto* l = std::get_if<OpLimit>(&op)) {
      if (l->type != NFT_LIMIT_PKTS || (l->flags & ~static_cast<std::uint32_t>(NFT_LIMIT_F_INV)) != 0 ||
          l->rate > 0xffffffffu) {
        return fail("limit Bulwark does not emit");
      }
      RateUnit unit = RateUnit::Second;
      if (l->unit == 60) {
        unit = RateUnit::Minute;
      } else if (l->unit == 3600) {
        unit = RateUnit::Hour;
      } else if (l->unit != 1) {
        return fail("limit unit Bulwark does not emit");
      }
      pc.expr = StmtLimit{static_cast<std::uint32_t>(l->rate), unit, l->burst, (l->flags & NFT_LIMIT_F_INV) != 0};
      pc.next = k + 1;
      return pc;
    }
    if (const auto* lg = std::get_if<OpLog>(&op)) {
      if (lg->level && *lg->level != 4) {
        return fail("log level Bulwark does not emit");
      }
      pc.expr = StmtLog{lg->prefix};
      pc.next = k + 1;
      return pc;
    }
    if (const auto* imm = std::get_if<OpImmData>(&op)) {
      std::size_t i = k + 1;
      const OpImmData* portImm = nullptr;
      const auto* nat = natOfReg1(i, portImm);
      if (!nat || imm->dreg != NFT_REG_1) {
        return fail("immediate/nat sequence Bulwark does not emit");
      }
      const Family f = nat->family == NFPROTO_IPV4 ? Family::V4 : Family::V6;
      if (imm->data.size() != (f == Family::V4 ? 4u : 16u)) {
        return fail("nat address of the wrong length");
      }
      std::array<std::uint8_t, 16> bytes{};
      std::copy(imm->data.begin(), imm->data.end(), bytes.begin());
      IpAddress to = IpAddress::fromBytes(f, bytes);
      std::optional<std::uint16_t> port;
      if (!natPort(portImm, *nat, port)) {
        return std::nullopt;
      }
      if (nat->type == NFT_NAT_DNAT) {
        pc.expr = StmtDnat{to, port};
      } else if (nat->type == NFT_NAT_SNAT && !port) {
        pc.expr = StmtSnat{to};
      } else {
        return fail("nat type Bulwark does not emit");
      }
      pc.next = i + 1;
      return pc;
    }
    if (std::holds_alternative<OpMasq>(op)) {
      pc.expr = StmtMasquerade{};
      pc.next = k + 1;
      return pc;
    }
    if (const auto* v = std::get_if<OpImmVerdict>(&op)) {
      Verdict verdict;
      switch (v->verdict) {
        case NF_ACCEPT: verdict.kind = VerdictKind::Accept; break;
        case NF_DROP: verdict.kind = VerdictKind::Drop; break;
        case NFT_RETURN: verdict.kind = VerdictKind::Return; break;
        case NFT_JUMP: verdict = {VerdictKind::Jump, v->chain}; break;
        case NFT_GOTO: verdict = {VerdictKind::Goto, v->chain}; break;
        default: return fail("verdict Bulwark does not emit");
      }
      pc.verdict = verdict;
      pc.next = k + 1;
      return pc;
    }
    if (const auto* r = std::get_if<OpReject>(&op)) {
      if (r->type == NFT_REJECT_ICMPX_UNREACH && r->code == NFT_REJECT_ICMPX_PORT_UNREACH) {
        pc.verdict = Verdict{VerdictKind::Reject, ""};
        pc.next = k + 1;
        return pc;
      }
      return fail("reject Bulwark does not emit");
    }
    return fail("expression Bulwark does not emit");
  }
};

}  // namespace

Raised raise(const std::vector<Op>& ops) { return Raiser(ops).run(); }

std::string hex(const Bytes& b) {
  std::string s;
  char buf[4];
  for (auto c : b) {
    std::snprintf(buf, sizeof buf, "%02x", c);
    s += buf;
  }
  return s;
}

std::string describeOp(const Op& op) {
  std::ostringstream o;
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, OpMeta>) {
          o << "meta load " << x.key << " => reg " << x.dreg;
        } else if constexpr (std::is_same_v<T, OpPayload>) {
          o << "payload load " << x.len << "b @ base " << x.base << " + " << x.offset << " => reg " << x.dreg;
        } else if constexpr (std::is_same_v<T, OpCmp>) {
          o << "cmp op " << x.op << " reg " << x.sreg << " 0x" << hex(x.data);
        } else if constexpr (std::is_same_v<T, OpBitwise>) {
          o << "bitwise reg " << x.dreg << " = (reg " << x.sreg << " & 0x" << hex(x.mask) << ") ^ 0x" << hex(x.xorv);
        } else if constexpr (std::is_same_v<T, OpByteorder>) {
          o << "byteorder op " << x.op << " reg " << x.dreg << " len " << x.len << " size " << x.size;
        } else if constexpr (std::is_same_v<T, OpCt>) {
          o << "ct load " << x.key << " => reg " << x.dreg;
        } else if constexpr (std::is_same_v<T, OpFib>) {
          o << "fib flags 0x" << std::hex << x.flags << std::dec << " result " << x.result;
        } else if constexpr (std::is_same_v<T, OpLimit>) {
          o << "limit rate " << x.rate << "/" << x.unit << "s burst " << x.burst << " flags " << x.flags;
        } else if constexpr (std::is_same_v<T, OpConnlimit>) {
          o << "connlimit count " << x.count << " flags " << x.flags;
        } else if constexpr (std::is_same_v<T, OpLookup>) {
          o << "lookup reg " << x.sreg << " set " << x.set << " flags " << x.flags;
          if (x.dreg) {
            o << " dreg " << *x.dreg;
          }
        } else if constexpr (std::is_same_v<T, OpDynset>) {
          o << "dynset op " << x.op << " set " << x.set;
          if (const auto* l = std::get_if<OpLimit>(&x.inner)) {
            o << " [" << describeOp(*l) << "]";
          } else if (const auto* c = std::get_if<OpConnlimit>(&x.inner)) {
            o << " [" << describeOp(*c) << "]";
          }
        } else if constexpr (std::is_same_v<T, OpLog>) {
          o << "log prefix \"" << x.prefix << "\"";
        } else if constexpr (std::is_same_v<T, OpNat>) {
          o << "nat type " << x.type << " family " << x.family << " flags " << x.flags;
        } else if constexpr (std::is_same_v<T, OpMasq>) {
          o << "masq";
        } else if constexpr (std::is_same_v<T, OpCounter>) {
          o << "counter";
        } else if constexpr (std::is_same_v<T, OpImmData>) {
          o << "immediate reg " << x.dreg << " 0x" << hex(x.data);
        } else if constexpr (std::is_same_v<T, OpImmVerdict>) {
          o << "immediate verdict " << x.verdict << (x.chain.empty() ? "" : " -> " + x.chain);
        } else if constexpr (std::is_same_v<T, OpReject>) {
          o << "reject type " << x.type << " code " << x.code;
        } else if constexpr (std::is_same_v<T, OpNumgen>) {
          o << "numgen reg " << x.dreg << " = type " << x.type << " mod " << x.modulus << " offset " << x.offset;
        } else {
          o << x.text;
        }
      },
      op);
  return o.str();
}

}  // namespace bulwark::firewall::nl
