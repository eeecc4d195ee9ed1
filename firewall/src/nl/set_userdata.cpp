// Set userdata in nft 1.0.6's layout (src/mnl.c mnl_nft_set_add): the kernel ignores it, but
// `nft list` prints a set from it (byte order of the key, `typeof` expressions), and the
// listing of Bulwark's table must equal that of `nft -f` of the render.
#include <libnftnl/udata.h>

#include "nl/nftnl.h"
#include "nl/ops.h"

namespace bulwark::firewall::nl {
namespace {

// nft's enum byteorder and the ids of its expression types / protocol descriptions (the
// values nft stores in typeof userdata; from the bytes nft 1.0.6 writes).
constexpr std::uint32_t kOrderInvalid = 0, kOrderHost = 1, kOrderBig = 2;
constexpr std::uint32_t kExprPayload = 7, kExprConcat = 13, kExprNumgen = 23;
constexpr std::uint32_t kDescIp = 12, kDescIp6 = 13;
constexpr std::uint32_t kIpDaddr = 12, kIp6Daddr = 9;  // field index in the protocol's template

std::uint32_t keyOrder(const SetDef& s) {
  if (s.key.size() != 1) return kOrderInvalid;  // a concatenation has none of its own
  switch (s.key[0]) {
    case KeyType::IfName: return kOrderHost;
    case KeyType::Slot: return kOrderHost;
    case KeyType::InetProto: return kOrderInvalid;
    case KeyType::Ipv4Addr:
    case KeyType::Ipv6Addr:
    case KeyType::InetService: return kOrderBig;
  }
  return kOrderInvalid;
}

}  // namespace

Bytes setUserdata(const SetDef& s) {
  UdataPtr buf(nftnl_udata_buf_alloc(512 + static_cast<std::uint32_t>(s.comment.size())));
  if (!buf) std::abort();
  auto* b = buf.get();
  const bool map = s.verdictMap || s.addressMap.has_value();
  nftnl_udata_put_u32(b, NFTNL_UDATA_SET_KEYBYTEORDER, keyOrder(s));
  if (map) nftnl_udata_put_u32(b, NFTNL_UDATA_SET_DATABYTEORDER, s.addressMap ? kOrderBig : kOrderInvalid);
  if (s.numgenMod != 0) {
    auto* key = nftnl_udata_nest_start(b, NFTNL_UDATA_SET_KEY_TYPEOF);
    nftnl_udata_put_u32(b, NFTNL_UDATA_SET_TYPEOF_EXPR, kExprNumgen);
    auto* ng = nftnl_udata_nest_start(b, NFTNL_UDATA_SET_TYPEOF_DATA);
    nftnl_udata_put_u32(b, 0, 0);  // type: inc
    nftnl_udata_put_u32(b, 1, s.numgenMod);
    nftnl_udata_put_u32(b, 2, 0);  // offset
    nftnl_udata_nest_end(b, ng);
    nftnl_udata_nest_end(b, key);
    const bool v6 = s.addressMap == policies::Family::V6;
    auto* data = nftnl_udata_nest_start(b, NFTNL_UDATA_SET_DATA_TYPEOF);
    nftnl_udata_put_u32(b, NFTNL_UDATA_SET_TYPEOF_EXPR, kExprPayload);
    auto* pl = nftnl_udata_nest_start(b, NFTNL_UDATA_SET_TYPEOF_DATA);
    nftnl_udata_put_u32(b, 0, v6 ? kDescIp6 : kDescIp);
    nftnl_udata_put_u32(b, 1, v6 ? kIp6Daddr : kIpDaddr);
    nftnl_udata_nest_end(b, pl);
    nftnl_udata_nest_end(b, data);
  } else if (s.key.size() > 1) {
    auto* key = nftnl_udata_nest_start(b, NFTNL_UDATA_SET_KEY_TYPEOF);
    nftnl_udata_put_u32(b, NFTNL_UDATA_SET_TYPEOF_EXPR, kExprConcat);
    nftnl_udata_nest_end(b, nftnl_udata_nest_start(b, NFTNL_UDATA_SET_TYPEOF_DATA));
    nftnl_udata_nest_end(b, key);
  }
  if (map) nftnl_udata_put_u32(b, NFTNL_UDATA_SET_DATA_INTERVAL, 0);
  if (!s.comment.empty()) nftnl_udata_put_strz(b, NFTNL_UDATA_SET_COMMENT, s.comment.c_str());
  const auto* p = static_cast<const std::uint8_t*>(nftnl_udata_buf_data(b));
  return Bytes(p, p + nftnl_udata_buf_len(b));
}

std::uint32_t numgenModOfUserdata(const void* data, std::uint32_t len) {
  if (data == nullptr || len == 0) return 0;
  struct Ctx {
    std::uint32_t expr = 0;
    std::uint32_t mod = 0;
  };
  Ctx ctx;
  nftnl_udata_parse(
      data, len,
      [](const nftnl_udata* attr, void* p) -> int {
        if (nftnl_udata_type(attr) != NFTNL_UDATA_SET_KEY_TYPEOF) return 0;
        nftnl_udata_parse(
            nftnl_udata_get(attr), nftnl_udata_len(attr),
            [](const nftnl_udata* inner, void* q) -> int {
              auto* c = static_cast<Ctx*>(q);
              if (nftnl_udata_type(inner) == NFTNL_UDATA_SET_TYPEOF_EXPR && nftnl_udata_len(inner) == 4) {
                c->expr = nftnl_udata_get_u32(inner);
              } else if (nftnl_udata_type(inner) == NFTNL_UDATA_SET_TYPEOF_DATA) {
                nftnl_udata_parse(
                    nftnl_udata_get(inner), nftnl_udata_len(inner),
                    [](const nftnl_udata* ng, void* r) -> int {
                      if (nftnl_udata_type(ng) == 1 && nftnl_udata_len(ng) == 4) {
                        static_cast<Ctx*>(r)->mod = nftnl_udata_get_u32(ng);
                      }
                      return 0;
                    },
                    q);
              }
              return 0;
            },
            p);
        return 0;
      },
      &ctx);
  return ctx.expr == kExprNumgen ? ctx.mod : 0;
}

}  // namespace bulwark::firewall::nl
