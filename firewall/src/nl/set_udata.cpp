// A set's userdata as nft 1.0.6 writes it (mnl_nft_set_add). The kernel only stores these
// bytes, but nft reads its listing's formats from them, not from the key type: without the key
// byte order hint a `type ifname` map listed every key as "" (host-endian bytes read as
// big-endian numbers), and `nft list ruleset | nft -f -` failed on Bulwark's table.
#include <linux/netfilter/nf_tables.h>

#include <cstdlib>

#include "nl/nftnl.h"

namespace bulwark::firewall::nl {
namespace {

// nft's enum byteorder and the udata TLV types of libnftnl/udata.h.
constexpr std::uint32_t kByteorderInvalid = 0;  // concatenations: per field, from the key type
constexpr std::uint32_t kByteorderHost = 1;
constexpr std::uint32_t kByteorderBig = 2;
constexpr std::uint8_t kUdataKeyByteorder = 0;   // NFTNL_UDATA_SET_KEYBYTEORDER
constexpr std::uint8_t kUdataDataByteorder = 1;  // NFTNL_UDATA_SET_DATABYTEORDER
constexpr std::uint8_t kUdataKeyTypeof = 3;      // NFTNL_UDATA_SET_KEY_TYPEOF
constexpr std::uint8_t kUdataDataInterval = 6;   // NFTNL_UDATA_SET_DATA_INTERVAL
constexpr std::uint8_t kTypeofExpr = 0;          // NFTNL_UDATA_SET_TYPEOF_EXPR
constexpr std::uint8_t kTypeofData = 1;          // NFTNL_UDATA_SET_TYPEOF_DATA
constexpr std::uint32_t kExprConcat = 13;        // nft's EXPR_CONCAT

void must(bool ok) {
  if (!ok) std::abort();  // the buffer is sized for everything put below
}

}  // namespace

std::uint32_t nftKeyByteorder(const std::vector<KeyType>& key) {
  if (key.size() != 1) return kByteorderInvalid;
  return key[0] == KeyType::IfName ? kByteorderHost : kByteorderBig;
}

UdataPtr setUserdata(const SetDef& s) {
  UdataPtr buf(nftnl_udata_buf_alloc(static_cast<std::uint32_t>(64 + s.comment.size())));
  if (!buf) std::abort();
  nftnl_udata_buf* b = buf.get();
  must(nftnl_udata_put_u32(b, kUdataKeyByteorder, nftKeyByteorder(s.key)));
  if (s.verdictMap) must(nftnl_udata_put_u32(b, kUdataDataByteorder, kByteorderInvalid));
  if (s.key.size() > 1) {
    // What nft records for a concatenated key: the expression type, no per-field data.
    nftnl_udata* nest = nftnl_udata_nest_start(b, kUdataKeyTypeof);
    must(nest != nullptr && nftnl_udata_put_u32(b, kTypeofExpr, kExprConcat));
    nftnl_udata* data = nftnl_udata_nest_start(b, kTypeofData);
    must(data != nullptr);
    nftnl_udata_nest_end(b, data);
    nftnl_udata_nest_end(b, nest);
  }
  if (s.verdictMap) must(nftnl_udata_put_u32(b, kUdataDataInterval, 0));
  if (!s.comment.empty()) must(nftnl_udata_put_strz(b, NFTNL_UDATA_SET_COMMENT, s.comment.c_str()));
  return buf;
}

}  // namespace bulwark::firewall::nl
