// Op ⇄ nftnl_expr. The only place that knows libnftnl's expression attribute names.
#include <linux/netfilter/nf_tables.h>

#include <cstring>
#include <string_view>

#include "bulwark/base/overloaded.h"
#include "nl/nftnl.h"

namespace bulwark::firewall::nl {
namespace {

ExprPtr make(const char* name) {
  ExprPtr e(nftnl_expr_alloc(name));
  if (!e) {
    std::abort();  // OOM
  }
  return e;
}

void setData(nftnl_expr* e, std::uint16_t attr, const Bytes& b) {
  nftnl_expr_set_data(e, attr, b.data(), static_cast<std::uint32_t>(b.size()));
}

Bytes getData(const nftnl_expr* e, std::uint16_t attr) {
  std::uint32_t len = 0;
  const void* p = nftnl_expr_get_data(e, attr, &len);
  if (p == nullptr) {
    return {};
  }
  const auto* c = static_cast<const std::uint8_t*>(p);
  return Bytes(c, c + len);
}

std::uint32_t u32(const nftnl_expr* e, std::uint16_t attr) {
  return nftnl_expr_is_set(e, attr) ? nftnl_expr_get_u32(e, attr) : 0;
}
std::uint64_t u64(const nftnl_expr* e, std::uint16_t attr) {
  return nftnl_expr_is_set(e, attr) ? nftnl_expr_get_u64(e, attr) : 0;
}
std::string str(const nftnl_expr* e, std::uint16_t attr) {
  const char* s = nftnl_expr_is_set(e, attr) ? nftnl_expr_get_str(e, attr) : nullptr;
  return s != nullptr ? s : "";
}

ExprPtr limitExpr(const OpLimit& x) {
  auto e = make("limit");
  nftnl_expr_set_u64(e.get(), NFTNL_EXPR_LIMIT_RATE, x.rate);
  nftnl_expr_set_u64(e.get(), NFTNL_EXPR_LIMIT_UNIT, x.unit);
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LIMIT_BURST, x.burst);
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LIMIT_TYPE, x.type);
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LIMIT_FLAGS, x.flags);
  return e;
}

ExprPtr connlimitExpr(const OpConnlimit& x) {
  auto e = make("connlimit");
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CONNLIMIT_COUNT, x.count);
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CONNLIMIT_FLAGS, x.flags);
  return e;
}

int collectInner(nftnl_expr* e, void* data) {
  static_cast<std::vector<Op>*>(data)->push_back(fromNftnl(e));
  return 0;
}

}  // namespace

ExprPtr toNftnl(const Op& op) {
  return std::visit(
      Overloaded{
          [](const OpMeta& x) {
            auto e = make("meta");
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_META_KEY, x.key);
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_META_DREG, x.dreg);
            return e;
          },
          [](const OpPayload& x) {
            auto e = make("payload");
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_DREG, x.dreg);
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_BASE, x.base);
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_OFFSET, x.offset);
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_LEN, x.len);
            return e;
          },
          [](const OpCmp& x) {
            auto e = make("cmp");
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CMP_SREG, x.sreg);
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CMP_OP, x.op);
            setData(e.get(), NFTNL_EXPR_CMP_DATA, x.data);
            return e;
          },
          [](const OpBitwise& x) {
            auto e = make("bitwise");
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BITWISE_SREG, x.sreg);
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BITWISE_DREG, x.dreg);
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BITWISE_LEN, x.len);
            setData(e.get(), NFTNL_EXPR_BITWISE_MASK, x.mask);
            setData(e.get(), NFTNL_EXPR_BITWISE_XOR, x.xorv);
            return e;
          },
          [](const OpByteorder& x) {
            auto e = make("byteorder");
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BYTEORDER_SREG, x.sreg);
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BYTEORDER_DREG, x.dreg);
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BYTEORDER_OP, x.op);
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BYTEORDER_LEN, x.len);
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BYTEORDER_SIZE, x.size);
            return e;
          },
          [](const OpCt& x) {
            auto e = make("ct");
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CT_KEY, x.key);
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CT_DREG, x.dreg);
            return e;
          },
          [](const OpFib& x) {
            auto e = make("fib");
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_FIB_FLAGS, x.flags);
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_FIB_RESULT, x.result);
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_FIB_DREG, x.dreg);
            return e;
          },
          [](const OpLimit& x) { return limitExpr(x); },
          [](const OpConnlimit& x) { return connlimitExpr(x); },
          [](const OpLookup& x) {
            auto e = make("lookup");
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LOOKUP_SREG, x.sreg);
            nftnl_expr_set_str(e.get(), NFTNL_EXPR_LOOKUP_SET, x.set.c_str());
            if (x.dreg) {
              nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LOOKUP_DREG, *x.dreg);
            }
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LOOKUP_FLAGS, x.flags);
            return e;
          },
          [](const OpDynset& x) {
            auto e = make("dynset");
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_DYNSET_SREG_KEY, x.sregKey);
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_DYNSET_OP, x.op);
            nftnl_expr_set_str(e.get(), NFTNL_EXPR_DYNSET_SET_NAME, x.set.c_str());
            ExprPtr inner;
            if (const auto* l = std::get_if<OpLimit>(&x.inner)) {
              inner = limitExpr(*l);
            } else if (const auto* c = std::get_if<OpConnlimit>(&x.inner)) {
              inner = connlimitExpr(*c);
            }
            if (inner) {
              // ownership passes to the dynset expression
              nftnl_expr_set(e.get(), NFTNL_EXPR_DYNSET_EXPR, inner.release(), 0);
            }
            return e;
          },
          [](const OpLog& x) {
            auto e = make("log");
            nftnl_expr_set_str(e.get(), NFTNL_EXPR_LOG_PREFIX, x.prefix.c_str());
            if (x.level) {
              nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LOG_LEVEL, *x.level);
            }
            return e;
          },
          [](const OpNat& x) {
            auto e = make("nat");
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_NAT_TYPE, x.type);
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_NAT_FAMILY, x.family);
            if (x.regAddrMin != 0) {
              nftnl_expr_set_u32(e.get(), NFTNL_EXPR_NAT_REG_ADDR_MIN, x.regAddrMin);
            }
            if (x.regAddrMax != 0) {
              nftnl_expr_set_u32(e.get(), NFTNL_EXPR_NAT_REG_ADDR_MAX, x.regAddrMax);
            }
            if (x.regProtoMin != 0) {
              nftnl_expr_set_u32(e.get(), NFTNL_EXPR_NAT_REG_PROTO_MIN, x.regProtoMin);
            }
            if (x.regProtoMax != 0) {
              nftnl_expr_set_u32(e.get(), NFTNL_EXPR_NAT_REG_PROTO_MAX, x.regProtoMax);
            }
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_NAT_FLAGS, x.flags);
            return e;
          },
          [](const OpMasq&) { return make("masq"); },
          [](const OpCounter&) { return make("counter"); },
          [](const OpImmData& x) {
            auto e = make("immediate");
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_IMM_DREG, x.dreg);
            setData(e.get(), NFTNL_EXPR_IMM_DATA, x.data);
            return e;
          },
          [](const OpImmVerdict& x) {
            auto e = make("immediate");
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_IMM_VERDICT, static_cast<std::uint32_t>(x.verdict));
            if (!x.chain.empty()) {
              nftnl_expr_set_str(e.get(), NFTNL_EXPR_IMM_CHAIN, x.chain.c_str());
            }
            return e;
          },
          [](const OpNumgen& x) {
            auto e = make("numgen");
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_NG_DREG, x.dreg);
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_NG_MODULUS, x.modulus);
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_NG_TYPE, x.type);
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_NG_OFFSET, x.offset);
            return e;
          },
          [](const OpReject& x) {
            auto e = make("reject");
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_REJECT_TYPE, x.type);
            nftnl_expr_set_u8(e.get(), NFTNL_EXPR_REJECT_CODE, static_cast<std::uint8_t>(x.code));
            return e;
          },
          [](const OpUnknown&) { return make("counter"); },  // never lowered
      },
      op);
}

Op fromNftnl(const nftnl_expr* e) {
  const std::string_view name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
  if (name == "meta") {
    if (!nftnl_expr_is_set(e, NFTNL_EXPR_META_DREG)) {
      return OpUnknown{"meta set"};
    }
    return OpMeta{u32(e, NFTNL_EXPR_META_KEY), u32(e, NFTNL_EXPR_META_DREG)};
  }
  if (name == "payload") {
    if (!nftnl_expr_is_set(e, NFTNL_EXPR_PAYLOAD_DREG)) {
      return OpUnknown{"payload set"};
    }
    return OpPayload{u32(e, NFTNL_EXPR_PAYLOAD_BASE), u32(e, NFTNL_EXPR_PAYLOAD_OFFSET),
                     u32(e, NFTNL_EXPR_PAYLOAD_LEN), u32(e, NFTNL_EXPR_PAYLOAD_DREG)};
  }
  if (name == "cmp") {
    return OpCmp{u32(e, NFTNL_EXPR_CMP_SREG), u32(e, NFTNL_EXPR_CMP_OP), getData(e, NFTNL_EXPR_CMP_DATA)};
  }
  if (name == "bitwise") {
    if (u32(e, NFTNL_EXPR_BITWISE_OP) != 0) {  // NFT_BITWISE_BOOL only
      return OpUnknown{"bitwise shift"};
    }
    return OpBitwise{u32(e, NFTNL_EXPR_BITWISE_SREG), u32(e, NFTNL_EXPR_BITWISE_DREG),
                     u32(e, NFTNL_EXPR_BITWISE_LEN), getData(e, NFTNL_EXPR_BITWISE_MASK),
                     getData(e, NFTNL_EXPR_BITWISE_XOR)};
  }
  if (name == "byteorder") {
    return OpByteorder{u32(e, NFTNL_EXPR_BYTEORDER_SREG), u32(e, NFTNL_EXPR_BYTEORDER_DREG),
                       u32(e, NFTNL_EXPR_BYTEORDER_OP), u32(e, NFTNL_EXPR_BYTEORDER_LEN),
                       u32(e, NFTNL_EXPR_BYTEORDER_SIZE)};
  }
  if (name == "ct") {
    if (!nftnl_expr_is_set(e, NFTNL_EXPR_CT_DREG) || nftnl_expr_is_set(e, NFTNL_EXPR_CT_DIR)) {
      return OpUnknown{"ct set/direction"};
    }
    return OpCt{u32(e, NFTNL_EXPR_CT_KEY), u32(e, NFTNL_EXPR_CT_DREG)};
  }
  if (name == "fib") {
    return OpFib{u32(e, NFTNL_EXPR_FIB_FLAGS), u32(e, NFTNL_EXPR_FIB_RESULT), u32(e, NFTNL_EXPR_FIB_DREG)};
  }
  if (name == "limit") {
    return OpLimit{u64(e, NFTNL_EXPR_LIMIT_RATE), u64(e, NFTNL_EXPR_LIMIT_UNIT), u32(e, NFTNL_EXPR_LIMIT_BURST),
                   u32(e, NFTNL_EXPR_LIMIT_TYPE), u32(e, NFTNL_EXPR_LIMIT_FLAGS)};
  }
  if (name == "connlimit") {
    return OpConnlimit{u32(e, NFTNL_EXPR_CONNLIMIT_COUNT), u32(e, NFTNL_EXPR_CONNLIMIT_FLAGS)};
  }
  if (name == "lookup") {
    OpLookup l{u32(e, NFTNL_EXPR_LOOKUP_SREG), str(e, NFTNL_EXPR_LOOKUP_SET), std::nullopt,
               u32(e, NFTNL_EXPR_LOOKUP_FLAGS)};
    if (nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_DREG)) {
      l.dreg = u32(e, NFTNL_EXPR_LOOKUP_DREG);
    }
    return l;
  }
  if (name == "dynset") {
    if (nftnl_expr_is_set(e, NFTNL_EXPR_DYNSET_SREG_DATA) || u64(e, NFTNL_EXPR_DYNSET_TIMEOUT) != 0) {
      return OpUnknown{"dynset with data/timeout"};
    }
    OpDynset d{u32(e, NFTNL_EXPR_DYNSET_OP), u32(e, NFTNL_EXPR_DYNSET_SREG_KEY),
               str(e, NFTNL_EXPR_DYNSET_SET_NAME), std::monostate{}};
    std::vector<Op> inner;
    nftnl_expr_expr_foreach(e, collectInner, &inner);
    if (inner.size() == 1 && std::holds_alternative<OpLimit>(inner[0])) {
      d.inner = std::get<OpLimit>(inner[0]);
    } else if (inner.size() == 1 && std::holds_alternative<OpConnlimit>(inner[0])) {
      d.inner = std::get<OpConnlimit>(inner[0]);
    } else if (!inner.empty()) {
      return OpUnknown{"dynset with " + std::to_string(inner.size()) + " other expressions"};
    }
    return d;
  }
  if (name == "log") {
    if (nftnl_expr_is_set(e, NFTNL_EXPR_LOG_GROUP) || nftnl_expr_is_set(e, NFTNL_EXPR_LOG_FLAGS)) {
      return OpUnknown{"log group/flags"};
    }
    OpLog l{str(e, NFTNL_EXPR_LOG_PREFIX), std::nullopt};
    if (nftnl_expr_is_set(e, NFTNL_EXPR_LOG_LEVEL)) {
      l.level = u32(e, NFTNL_EXPR_LOG_LEVEL);
    }
    return l;
  }
  if (name == "nat") {
    return OpNat{u32(e, NFTNL_EXPR_NAT_TYPE),          u32(e, NFTNL_EXPR_NAT_FAMILY),
                 u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN),  u32(e, NFTNL_EXPR_NAT_REG_ADDR_MAX),
                 u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN), u32(e, NFTNL_EXPR_NAT_REG_PROTO_MAX),
                 u32(e, NFTNL_EXPR_NAT_FLAGS)};
  }
  if (name == "masq") {
    if (u32(e, NFTNL_EXPR_MASQ_FLAGS) != 0 || nftnl_expr_is_set(e, NFTNL_EXPR_MASQ_REG_PROTO_MIN)) {
      return OpUnknown{"masq with options"};
    }
    return OpMasq{};
  }
  if (name == "counter") {
    return OpCounter{u64(e, NFTNL_EXPR_CTR_PACKETS), u64(e, NFTNL_EXPR_CTR_BYTES)};
  }
  if (name == "immediate") {
    const std::uint32_t dreg = u32(e, NFTNL_EXPR_IMM_DREG);
    if (nftnl_expr_is_set(e, NFTNL_EXPR_IMM_VERDICT)) {
      return OpImmVerdict{static_cast<std::int32_t>(u32(e, NFTNL_EXPR_IMM_VERDICT)), str(e, NFTNL_EXPR_IMM_CHAIN)};
    }
    return OpImmData{dreg, getData(e, NFTNL_EXPR_IMM_DATA)};
  }
  if (name == "numgen") {
    return OpNumgen{u32(e, NFTNL_EXPR_NG_DREG), u32(e, NFTNL_EXPR_NG_MODULUS), u32(e, NFTNL_EXPR_NG_TYPE),
                    u32(e, NFTNL_EXPR_NG_OFFSET)};
  }
  if (name == "reject") {
    return OpReject{u32(e, NFTNL_EXPR_REJECT_TYPE),
                    nftnl_expr_is_set(e, NFTNL_EXPR_REJECT_CODE) ? nftnl_expr_get_u8(e, NFTNL_EXPR_REJECT_CODE) : 0u};
  }
  return OpUnknown{std::string(name)};
}

UdataPtr udataComment(std::uint8_t type, const std::string& comment) {
  UdataPtr buf(nftnl_udata_buf_alloc(static_cast<std::uint32_t>(comment.size() + 16)));
  if (!buf) {
    std::abort();
  }
  nftnl_udata_put_strz(buf.get(), type, comment.c_str());
  return buf;
}

std::string udataFind(const void* data, std::uint32_t len, std::uint8_t type) {
  if (data == nullptr || len == 0) {
    return {};
  }
  struct Ctx {
    std::uint8_t type;
    std::string found;
  } ctx{type, {}};
  nftnl_udata_parse(
      data, len,
      [](const nftnl_udata* attr, void* p) -> int {
        auto* c = static_cast<Ctx*>(p);
        if (nftnl_udata_type(attr) == c->type) {
          const char* s = static_cast<const char*>(nftnl_udata_get(attr));
          const std::uint8_t n = nftnl_udata_len(attr);
          c->found.assign(s, strnlen(s, n));
        }
        return 0;
      },
      &ctx);
  return ctx.found;
}

}  // namespace bulwark::firewall::nl
