// Op ⇄ nftnl_expr. The only place that knows libnftnl's expression attribute names.
#include <linux/netfilter/nf_tables.h>

#include <cstring>
#include <span>
#include <string_view>
#include <variant>

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

// One field of an Op and the expression attribute that holds it. The Ops whose every field
// is an attribute are described once, as a list of these (in the order they are set), and
// that list is both written (toNftnl) and read (fromNftnl).
template <typename T>
struct Field {
  std::uint16_t attr;
  std::variant<std::uint32_t T::*, std::uint64_t T::*, Bytes T::*> member;
};

template <typename T>
ExprPtr build(const char* name, const T& x, std::span<const Field<T>> fields) {
  auto e = make(name);
  for (const auto& f : fields) {
    std::visit(Overloaded{
                   [&](std::uint32_t T::*m) { nftnl_expr_set_u32(e.get(), f.attr, x.*m); },
                   [&](std::uint64_t T::*m) { nftnl_expr_set_u64(e.get(), f.attr, x.*m); },
                   [&](Bytes T::*m) { setData(e.get(), f.attr, x.*m); },
               },
               f.member);
  }
  return e;
}

// GCC 12 at -O2 follows the Bytes alternative for Ops without a Bytes member (it cannot prove
// it dead) and warns (-Warray-bounds) that the vector would lie outside the Op; no Field<T>
// names a member T lacks.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
template <typename T>
T read(const nftnl_expr* e, std::span<const Field<T>> fields) {
  T x{};
  for (const auto& f : fields) {
    std::visit(Overloaded{
                   [&](std::uint32_t T::*m) { x.*m = u32(e, f.attr); },
                   [&](std::uint64_t T::*m) { x.*m = u64(e, f.attr); },
                   [&](Bytes T::*m) { x.*m = getData(e, f.attr); },
               },
               f.member);
  }
  return x;
}
#pragma GCC diagnostic pop

constexpr Field<OpMeta> kMeta[] = {{NFTNL_EXPR_META_KEY, &OpMeta::key}, {NFTNL_EXPR_META_DREG, &OpMeta::dreg}};
constexpr Field<OpPayload> kPayload[] = {{NFTNL_EXPR_PAYLOAD_DREG, &OpPayload::dreg},
                                         {NFTNL_EXPR_PAYLOAD_BASE, &OpPayload::base},
                                         {NFTNL_EXPR_PAYLOAD_OFFSET, &OpPayload::offset},
                                         {NFTNL_EXPR_PAYLOAD_LEN, &OpPayload::len}};
constexpr Field<OpCmp> kCmp[] = {
    {NFTNL_EXPR_CMP_SREG, &OpCmp::sreg}, {NFTNL_EXPR_CMP_OP, &OpCmp::op}, {NFTNL_EXPR_CMP_DATA, &OpCmp::data}};
constexpr Field<OpBitwise> kBitwise[] = {
    {NFTNL_EXPR_BITWISE_SREG, &OpBitwise::sreg}, {NFTNL_EXPR_BITWISE_DREG, &OpBitwise::dreg},
    {NFTNL_EXPR_BITWISE_LEN, &OpBitwise::len},   {NFTNL_EXPR_BITWISE_MASK, &OpBitwise::mask},
    {NFTNL_EXPR_BITWISE_XOR, &OpBitwise::xorv}};
constexpr Field<OpByteorder> kByteorder[] = {
    {NFTNL_EXPR_BYTEORDER_SREG, &OpByteorder::sreg}, {NFTNL_EXPR_BYTEORDER_DREG, &OpByteorder::dreg},
    {NFTNL_EXPR_BYTEORDER_OP, &OpByteorder::op},     {NFTNL_EXPR_BYTEORDER_LEN, &OpByteorder::len},
    {NFTNL_EXPR_BYTEORDER_SIZE, &OpByteorder::size}};
constexpr Field<OpCt> kCt[] = {{NFTNL_EXPR_CT_KEY, &OpCt::key}, {NFTNL_EXPR_CT_DREG, &OpCt::dreg}};
constexpr Field<OpFib> kFib[] = {{NFTNL_EXPR_FIB_FLAGS, &OpFib::flags},
                                 {NFTNL_EXPR_FIB_RESULT, &OpFib::result},
                                 {NFTNL_EXPR_FIB_DREG, &OpFib::dreg}};
constexpr Field<OpLimit> kLimit[] = {
    {NFTNL_EXPR_LIMIT_RATE, &OpLimit::rate}, {NFTNL_EXPR_LIMIT_UNIT, &OpLimit::unit},
    {NFTNL_EXPR_LIMIT_BURST, &OpLimit::burst}, {NFTNL_EXPR_LIMIT_TYPE, &OpLimit::type},
    {NFTNL_EXPR_LIMIT_FLAGS, &OpLimit::flags}};
constexpr Field<OpConnlimit> kConnlimit[] = {{NFTNL_EXPR_CONNLIMIT_COUNT, &OpConnlimit::count},
                                             {NFTNL_EXPR_CONNLIMIT_FLAGS, &OpConnlimit::flags}};
constexpr Field<OpImmData> kImmData[] = {{NFTNL_EXPR_IMM_DREG, &OpImmData::dreg},
                                         {NFTNL_EXPR_IMM_DATA, &OpImmData::data}};
constexpr Field<OpNumgen> kNumgen[] = {
    {NFTNL_EXPR_NG_DREG, &OpNumgen::dreg}, {NFTNL_EXPR_NG_MODULUS, &OpNumgen::modulus},
    {NFTNL_EXPR_NG_TYPE, &OpNumgen::type}, {NFTNL_EXPR_NG_OFFSET, &OpNumgen::offset}};
// Read only: toNftnl leaves the unset registers out.
constexpr Field<OpNat> kNat[] = {
    {NFTNL_EXPR_NAT_TYPE, &OpNat::type},
    {NFTNL_EXPR_NAT_FAMILY, &OpNat::family},
    {NFTNL_EXPR_NAT_REG_ADDR_MIN, &OpNat::regAddrMin},
    {NFTNL_EXPR_NAT_REG_ADDR_MAX, &OpNat::regAddrMax},
    {NFTNL_EXPR_NAT_REG_PROTO_MIN, &OpNat::regProtoMin},
    {NFTNL_EXPR_NAT_REG_PROTO_MAX, &OpNat::regProtoMax},
    {NFTNL_EXPR_NAT_FLAGS, &OpNat::flags}};
constexpr Field<OpCounter> kCounter[] = {{NFTNL_EXPR_CTR_PACKETS, &OpCounter::packets},
                                         {NFTNL_EXPR_CTR_BYTES, &OpCounter::bytes}};

int collectInner(nftnl_expr* e, void* data) {
  static_cast<std::vector<Op>*>(data)->push_back(fromNftnl(e));
  return 0;
}

}  // namespace

ExprPtr toNftnl(const Op& op) {
  return std::visit(
      Overloaded{
          [](const OpMeta& x) { return build<OpMeta>("meta", x, kMeta); },
          [](const OpPayload& x) { return build<OpPayload>("payload", x, kPayload); },
          [](const OpCmp& x) { return build<OpCmp>("cmp", x, kCmp); },
          [](const OpBitwise& x) { return build<OpBitwise>("bitwise", x, kBitwise); },
          [](const OpByteorder& x) { return build<OpByteorder>("byteorder", x, kByteorder); },
          [](const OpCt& x) { return build<OpCt>("ct", x, kCt); },
          [](const OpFib& x) { return build<OpFib>("fib", x, kFib); },
          [](const OpLimit& x) { return build<OpLimit>("limit", x, kLimit); },
          [](const OpConnlimit& x) { return build<OpConnlimit>("connlimit", x, kConnlimit); },
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
              inner = build<OpLimit>("limit", *l, kLimit);
            } else if (const auto* c = std::get_if<OpConnlimit>(&x.inner)) {
              inner = build<OpConnlimit>("connlimit", *c, kConnlimit);
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
          [](const OpImmData& x) { return build<OpImmData>("immediate", x, kImmData); },
          [](const OpImmVerdict& x) {
            auto e = make("immediate");
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
            nftnl_expr_set_u32(e.get(), NFTNL_EXPR_IMM_VERDICT, static_cast<std::uint32_t>(x.verdict));
            if (!x.chain.empty()) {
              nftnl_expr_set_str(e.get(), NFTNL_EXPR_IMM_CHAIN, x.chain.c_str());
            }
            return e;
          },
          [](const OpNumgen& x) { return build<OpNumgen>("numgen", x, kNumgen); },
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
    return read<OpMeta>(e, kMeta);
  }
  if (name == "payload") {
    if (!nftnl_expr_is_set(e, NFTNL_EXPR_PAYLOAD_DREG)) {
      return OpUnknown{"payload set"};
    }
    return read<OpPayload>(e, kPayload);
  }
  if (name == "cmp") {
    return read<OpCmp>(e, kCmp);
  }
  if (name == "bitwise") {
    if (u32(e, NFTNL_EXPR_BITWISE_OP) != 0) {  // NFT_BITWISE_BOOL only
      return OpUnknown{"bitwise shift"};
    }
    return read<OpBitwise>(e, kBitwise);
  }
  if (name == "byteorder") {
    return read<OpByteorder>(e, kByteorder);
  }
  if (name == "ct") {
    if (!nftnl_expr_is_set(e, NFTNL_EXPR_CT_DREG) || nftnl_expr_is_set(e, NFTNL_EXPR_CT_DIR)) {
      return OpUnknown{"ct set/direction"};
    }
    return read<OpCt>(e, kCt);
  }
  if (name == "fib") {
    return read<OpFib>(e, kFib);
  }
  if (name == "limit") {
    return read<OpLimit>(e, kLimit);
  }
  if (name == "connlimit") {
    return read<OpConnlimit>(e, kConnlimit);
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
    return read<OpNat>(e, kNat);
  }
  if (name == "masq") {
    if (u32(e, NFTNL_EXPR_MASQ_FLAGS) != 0 || nftnl_expr_is_set(e, NFTNL_EXPR_MASQ_REG_PROTO_MIN)) {
      return OpUnknown{"masq with options"};
    }
    return OpMasq{};
  }
  if (name == "counter") {
    return read<OpCounter>(e, kCounter);
  }
  if (name == "immediate") {
    if (nftnl_expr_is_set(e, NFTNL_EXPR_IMM_VERDICT)) {
      return OpImmVerdict{static_cast<std::int32_t>(u32(e, NFTNL_EXPR_IMM_VERDICT)), str(e, NFTNL_EXPR_IMM_CHAIN)};
    }
    return read<OpImmData>(e, kImmData);
  }
  if (name == "numgen") {
    return read<OpNumgen>(e, kNumgen);
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
