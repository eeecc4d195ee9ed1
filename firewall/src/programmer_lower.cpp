// IR → nf_tables expressions, the same sequences nft 1.0.6 generates (netlink_linearize.c):
// protocol dependencies first (meta nfproto before ip/ip6 payload loads in the inet family,
// meta l4proto tcp before tcp flags), keys loaded into consecutive registers for
// concatenations, prefixes as short loads when byte-aligned and masked loads otherwise.
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_tuple_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>

#include <type_traits>

#include "nl/ops.h"

namespace bulwark::firewall::nl {
namespace {

// nft's register numbering: 32-bit register index r (0 = first 32 bits of NFT_REG_1);
// 128-bit register numbers where aligned, NFT_REG32_xx otherwise.
std::uint32_t kernelReg(std::uint32_t r32) {
  return r32 % 4 == 0 ? NFT_REG_1 + r32 / 4 : NFT_REG32_00 + r32;
}

struct SelInfo {
  bool meta = false;
  std::uint32_t key = 0;  // meta key, or payload base
  std::uint32_t offset = 0;
  std::uint32_t len = 0;
  std::optional<policies::Family> family;
};

SelInfo selInfo(Selector s) {
  switch (s) {
    case Selector::IifName: return {true, NFT_META_IIFNAME, 0, 16, std::nullopt};
    case Selector::OifName: return {true, NFT_META_OIFNAME, 0, 16, std::nullopt};
    case Selector::Ip4Saddr: return {false, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, policies::Family::V4};
    case Selector::Ip4Daddr: return {false, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, policies::Family::V4};
    case Selector::Ip6Saddr: return {false, NFT_PAYLOAD_NETWORK_HEADER, 8, 16, policies::Family::V6};
    case Selector::Ip6Daddr: return {false, NFT_PAYLOAD_NETWORK_HEADER, 24, 16, policies::Family::V6};
    case Selector::L4Proto: return {true, NFT_META_L4PROTO, 0, 1, std::nullopt};
    case Selector::ThDport: return {false, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, std::nullopt};
  }
  return {};
}

Op loadOp(const SelInfo& s, std::uint32_t dreg) {
  if (s.meta) {
    return OpMeta{s.key, dreg};
  }
  return OpPayload{s.key, s.offset, s.len, dreg};
}

Bytes u32host(std::uint32_t v) {
  Bytes b(4);
  for (int i = 0; i < 4; ++i) {
    b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
  }
  return b;
}

Bytes ifnameBytes(const std::string& name) {
  Bytes b(16, 0);
  for (std::size_t i = 0; i < name.size() && i < 15; ++i) {
    b[i] = static_cast<std::uint8_t>(name[i]);
  }
  return b;
}

Bytes portBytes(std::uint16_t p) {
  return {static_cast<std::uint8_t>(p >> 8), static_cast<std::uint8_t>(p & 0xff)};
}

std::uint8_t nfproto(policies::Family f) {
  return f == policies::Family::V4 ? NFPROTO_IPV4 : NFPROTO_IPV6;
}

std::uint64_t unitSeconds(RateUnit u) {
  switch (u) {
    case RateUnit::Second: return 1;
    case RateUnit::Minute: return 60;
    case RateUnit::Hour: return 3600;
  }
  return 1;
}

OpLimit limitOp(const StmtLimit& l) {
  return OpLimit{l.rate, unitSeconds(l.unit), l.burst, NFT_LIMIT_PKTS, l.over ? static_cast<std::uint32_t>(NFT_LIMIT_F_INV) : 0u};
}

class Lowerer {
 public:
  std::vector<Op> ops;

  void needFamily(policies::Family f) {
    if (family_ != f) {
      ops.emplace_back(OpMeta{NFT_META_NFPROTO, NFT_REG_1});
      ops.emplace_back(OpCmp{NFT_REG_1, NFT_CMP_EQ, {nfproto(f)}});
      family_ = f;
    }
  }

  void keyLoads(const std::vector<Selector>& key) {
    for (Selector s : key) {
      if (auto f = selInfo(s).family) {
        needFamily(*f);
      }
    }
    std::uint32_t r = 0;
    for (Selector s : key) {
      SelInfo info = selInfo(s);
      std::uint32_t reg = kernelReg(r);
      ops.push_back(loadOp(info, reg));
      if (s == Selector::L4Proto && key.size() > 1) {
        // nft converts the host-endian meta l4proto to the set's inet_proto byte order.
        ops.emplace_back(OpByteorder{reg, reg, NFT_BYTEORDER_HTON, 1, 2});
      }
      r += (info.len + 3) / 4;
    }
  }

  void operator()(const MatchCtState& m) {
    ops.emplace_back(OpCt{NFT_CT_STATE, NFT_REG_1});
    ops.emplace_back(OpBitwise{NFT_REG_1, NFT_REG_1, 4, u32host(m.mask), u32host(0)});
    ops.emplace_back(OpCmp{NFT_REG_1, NFT_CMP_NEQ, u32host(0)});
  }
  void operator()(const MatchCtDirection& m) {
    ops.emplace_back(OpCt{NFT_CT_DIRECTION, NFT_REG_1});
    ops.emplace_back(OpCmp{NFT_REG_1, NFT_CMP_EQ, {static_cast<std::uint8_t>(m.reply ? IP_CT_DIR_REPLY : IP_CT_DIR_ORIGINAL)}});
  }
  void operator()(const MatchIfName& m) {
    ops.push_back(loadOp(selInfo(m.which), NFT_REG_1));
    ops.emplace_back(OpCmp{NFT_REG_1, m.negate ? NFT_CMP_NEQ : NFT_CMP_EQ, ifnameBytes(m.name)});
  }
  void operator()(const MatchNfProto& m) {
    ops.emplace_back(OpMeta{NFT_META_NFPROTO, NFT_REG_1});
    ops.emplace_back(OpCmp{NFT_REG_1, NFT_CMP_EQ, {nfproto(m.family)}});
    family_ = m.family;
  }
  void operator()(const MatchL4Proto& m) {
    ops.emplace_back(OpMeta{NFT_META_L4PROTO, NFT_REG_1});
    ops.emplace_back(OpCmp{NFT_REG_1, NFT_CMP_EQ, {m.proto}});
    tcp_ = m.proto == IPPROTO_TCP;
  }
  void operator()(const MatchPrefix& m) {
    SelInfo info = selInfo(m.which);
    if (info.family) {
      needFamily(*info.family);
    }
    const auto& addr = m.prefix.address().bytes();
    const std::uint32_t full = info.len;
    const auto bits = static_cast<std::uint32_t>(m.prefix.length());
    const std::uint32_t op = m.negate ? NFT_CMP_NEQ : NFT_CMP_EQ;
    if (bits > 0 && bits % 8 == 0) {
      const std::uint32_t n = bits / 8;
      ops.emplace_back(OpPayload{info.key, info.offset, n, NFT_REG_1});
      ops.emplace_back(OpCmp{NFT_REG_1, op, Bytes(addr.begin(), addr.begin() + n)});
      return;
    }
    Bytes mask(full, 0);
    for (std::uint32_t i = 0; i < bits; ++i) {
      mask[i / 8] = static_cast<std::uint8_t>(mask[i / 8] | (0x80u >> (i % 8)));
    }
    ops.emplace_back(OpPayload{info.key, info.offset, full, NFT_REG_1});
    ops.emplace_back(OpBitwise{NFT_REG_1, NFT_REG_1, full, mask, Bytes(full, 0)});
    ops.emplace_back(OpCmp{NFT_REG_1, op, Bytes(addr.begin(), addr.begin() + full)});
  }
  void operator()(const MatchPort& m) {
    ops.emplace_back(OpPayload{NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1});
    if (m.ports.first == m.ports.last) {
      ops.emplace_back(OpCmp{NFT_REG_1, NFT_CMP_EQ, portBytes(m.ports.first)});
    } else {
      ops.emplace_back(OpCmp{NFT_REG_1, NFT_CMP_GTE, portBytes(m.ports.first)});
      ops.emplace_back(OpCmp{NFT_REG_1, NFT_CMP_LTE, portBytes(m.ports.last)});
    }
  }
  void operator()(const MatchLookup& m) {
    keyLoads(m.key);
    ops.emplace_back(OpLookup{NFT_REG_1, m.set, std::nullopt, m.negate ? static_cast<std::uint32_t>(NFT_LOOKUP_F_INV) : 0u});
  }
  void operator()(const MatchIpsecIn&) {
    ops.emplace_back(OpMeta{NFT_META_SECPATH, NFT_REG_1});
    ops.emplace_back(OpCmp{NFT_REG_1, NFT_CMP_EQ, {1}});
  }
  void operator()(const MatchFibSaddrMissing&) {
    ops.emplace_back(OpFib{NFTA_FIB_F_SADDR | NFTA_FIB_F_IIF | NFTA_FIB_F_PRESENT,
                           NFT_FIB_RESULT_OIF, NFT_REG_1});
    ops.emplace_back(OpCmp{NFT_REG_1, NFT_CMP_EQ, u32host(0)});  // the result is a u32
  }
  void tcpFlags(std::uint32_t op) {
    if (!tcp_) {
      ops.emplace_back(OpMeta{NFT_META_L4PROTO, NFT_REG_1});
      ops.emplace_back(OpCmp{NFT_REG_1, NFT_CMP_EQ, {IPPROTO_TCP}});
      tcp_ = true;
    }
    ops.emplace_back(OpPayload{NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1, NFT_REG_1});
    ops.emplace_back(OpBitwise{NFT_REG_1, NFT_REG_1, 1, {0x17}, {0}});  // fin|syn|rst|ack
    ops.emplace_back(OpCmp{NFT_REG_1, op, {0x02}});                      // syn
  }
  void operator()(const MatchTcpSynOnly&) { tcpFlags(NFT_CMP_EQ); }
  void operator()(const MatchNotTcpSyn&) { tcpFlags(NFT_CMP_NEQ); }
  void operator()(const StmtCounter&) { ops.emplace_back(OpCounter{}); }
  void operator()(const StmtLimit& s) { ops.emplace_back(limitOp(s)); }
  void operator()(const StmtMeterOver& s) {
    keyLoads(s.key);
    ops.emplace_back(OpDynset{NFT_DYNSET_OP_ADD, NFT_REG_1, s.set, limitOp(s.limit)});
  }
  void operator()(const StmtConnLimitOver& s) {
    keyLoads(s.key);
    ops.emplace_back(OpDynset{NFT_DYNSET_OP_ADD, NFT_REG_1, s.set, OpConnlimit{s.count, NFT_CONNLIMIT_F_INV}});
  }
  void operator()(const StmtLog& s) { ops.emplace_back(OpLog{s.prefix, 4u /*LOG_WARNING, nft's default*/}); }
  void nat(std::uint32_t type, const IpAddress& to, std::optional<std::uint16_t> port) {
    const std::size_t n = to.isV4() ? 4 : 16;
    ops.emplace_back(OpImmData{NFT_REG_1, Bytes(to.bytes().begin(), to.bytes().begin() + static_cast<long>(n))});
    OpNat nat{type, to.isV4() ? NFPROTO_IPV4 : NFPROTO_IPV6, NFT_REG_1, NFT_REG_1, 0, 0, NF_NAT_RANGE_MAP_IPS};
    if (port) {
      ops.emplace_back(OpImmData{NFT_REG_2, portBytes(*port)});
      nat.regProtoMin = NFT_REG_2;
      nat.regProtoMax = NFT_REG_2;
      nat.flags |= NF_NAT_RANGE_PROTO_SPECIFIED;
    }
    ops.emplace_back(nat);
  }
  void operator()(const StmtDnat& s) { nat(NFT_NAT_DNAT, s.to, s.port); }
  // nft: [numgen reg 1 = inc mod N] or [payload daddr => reg 1], [lookup reg 1 set m dreg 1],
  // [immediate reg 2 port], [nat dnat addr_min reg 1 (proto_min reg 2)]. nft leaves out
  // addr_max and the MAP_IPS flag; the kernel fills in both, so the same is sent here as for
  // an immediate address (what the kernel holds either way).
  void operator()(const StmtDnatMap& s) {
    if (s.numgenMod != 0) {
      ops.emplace_back(OpNumgen{NFT_REG_1, s.numgenMod, NFT_NG_INCREMENTAL, 0});
    } else {
      keyLoads({s.family == policies::Family::V4 ? Selector::Ip4Daddr : Selector::Ip6Daddr});
    }
    ops.emplace_back(OpLookup{NFT_REG_1, s.map, NFT_REG_1, 0});
    OpNat nat{NFT_NAT_DNAT, nfproto(s.family), NFT_REG_1, NFT_REG_1, 0, 0, NF_NAT_RANGE_MAP_IPS};
    if (s.port) {
      ops.emplace_back(OpImmData{NFT_REG_2, portBytes(*s.port)});
      nat.regProtoMin = NFT_REG_2;
      nat.regProtoMax = NFT_REG_2;
      nat.flags |= NF_NAT_RANGE_PROTO_SPECIFIED;
    }
    ops.emplace_back(nat);
  }
  void operator()(const StmtSnat& s) { nat(NFT_NAT_SNAT, s.to, std::nullopt); }
  void operator()(const StmtMasquerade&) { ops.emplace_back(OpMasq{}); }
  void operator()(const StmtVmap& s) {
    keyLoads(s.key);
    ops.emplace_back(OpLookup{NFT_REG_1, s.map, NFT_REG_VERDICT, 0});
  }

  void verdict(const Verdict& v) {
    switch (v.kind) {
      case VerdictKind::None: return;
      case VerdictKind::Accept: ops.emplace_back(OpImmVerdict{NF_ACCEPT, ""}); return;
      case VerdictKind::Drop: ops.emplace_back(OpImmVerdict{NF_DROP, ""}); return;
      case VerdictKind::Reject:
        ops.emplace_back(OpReject{NFT_REJECT_ICMPX_UNREACH, NFT_REJECT_ICMPX_PORT_UNREACH});
        return;
      case VerdictKind::Jump: ops.emplace_back(OpImmVerdict{NFT_JUMP, v.chain}); return;
      case VerdictKind::Goto: ops.emplace_back(OpImmVerdict{NFT_GOTO, v.chain}); return;
      case VerdictKind::Return: ops.emplace_back(OpImmVerdict{NFT_RETURN, ""}); return;
    }
  }

 private:
  std::optional<policies::Family> family_;
  bool tcp_ = false;
};

}  // namespace

std::vector<Op> lower(const Rule& rule) {
  Lowerer l;
  for (const Expr& e : rule.exprs) {
    std::visit(l, e);
  }
  l.verdict(rule.verdict);
  return std::move(l.ops);
}

}  // namespace bulwark::firewall::nl
