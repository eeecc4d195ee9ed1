#include "flow_message.h"

#include <arpa/inet.h>
#include <endian.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>

#include <cstring>

#include "bulwark/conntrack/flow.h"

namespace bulwark::conntrack {
namespace {

// The attributes of one nest by type (types above Max are ignored: newer kernels add some).
template <int Max>
struct Attrs {
  const nlattr* at[Max + 1] = {};
  static int collect(const nlattr* a, void* data) {
    const auto type = mnl_attr_get_type(a);
    if (type <= Max) static_cast<Attrs*>(data)->at[type] = a;
    return MNL_CB_OK;
  }
  [[nodiscard]] bool parse(const nlattr* nest) {
    return nest != nullptr && mnl_attr_parse_nested(nest, collect, this) >= 0;
  }
  [[nodiscard]] const nlattr* operator[](int type) const { return at[type]; }
};

bool has(const nlattr* a, mnl_attr_data_type type) { return a != nullptr && mnl_attr_validate(a, type) >= 0; }

// Into `out`, IPv4 in the first 4 bytes; false when the attribute is missing or malformed.
bool address(const nlattr* a, std::size_t len, std::array<std::uint8_t, 16>& out) {
  if (a == nullptr || mnl_attr_validate2(a, MNL_TYPE_BINARY, len) < 0) return false;
  std::memcpy(out.data(), mnl_attr_get_payload(a), len);
  return true;
}

// Adds a CTA_COUNTERS_* nest's bytes and packets (absent without nf_conntrack_acct).
void addCounters(const nlattr* nest, Flow& f) {
  Attrs<CTA_COUNTERS_MAX> c;
  if (!c.parse(nest)) return;
  if (has(c[CTA_COUNTERS_BYTES], MNL_TYPE_U64)) f.bytes += be64toh(mnl_attr_get_u64(c[CTA_COUNTERS_BYTES]));
  if (has(c[CTA_COUNTERS_PACKETS], MNL_TYPE_U64)) f.packets += be64toh(mnl_attr_get_u64(c[CTA_COUNTERS_PACKETS]));
}

}  // namespace

bool parseFlow(const nlmsghdr* nlh, Flow& out) {
  // libmnl bounds the attributes by the message's aligned tail (MNL_ALIGN(nlmsg_len)): an
  // unaligned length would let the last attribute reach up to 3 bytes past the message. The
  // kernel's messages are always aligned; anything else is refused (found by fuzz_ct_flow).
  if (nlh->nlmsg_len % MNL_ALIGNTO != 0) return false;
  if (mnl_nlmsg_get_payload_len(nlh) < sizeof(nfgenmsg)) return false;
  const auto* nfg = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(nlh));
  Attrs<CTA_MAX> top;
  if (mnl_attr_parse(nlh, sizeof(nfgenmsg), Attrs<CTA_MAX>::collect, &top) < 0) return false;
  Attrs<CTA_TUPLE_MAX> tuple;
  Attrs<CTA_IP_MAX> ip;
  if (!tuple.parse(top[CTA_TUPLE_ORIG]) || !ip.parse(tuple[CTA_TUPLE_IP])) return false;
  Flow f;
  f.family = nfg->nfgen_family;
  if (f.family == AF_INET) {
    if (!address(ip[CTA_IP_V4_SRC], 4, f.src) || !address(ip[CTA_IP_V4_DST], 4, f.dst)) return false;
  } else if (f.family == AF_INET6) {
    if (!address(ip[CTA_IP_V6_SRC], 16, f.src) || !address(ip[CTA_IP_V6_DST], 16, f.dst)) return false;
  } else {
    return false;
  }
  Attrs<CTA_PROTO_MAX> proto;
  if (!proto.parse(tuple[CTA_TUPLE_PROTO]) || !has(proto[CTA_PROTO_NUM], MNL_TYPE_U8)) return false;
  f.proto = mnl_attr_get_u8(proto[CTA_PROTO_NUM]);
  // Ports only for protocols that have them (ICMP's id/type/code are not ports).
  if (has(proto[CTA_PROTO_SRC_PORT], MNL_TYPE_U16)) f.sport = ntohs(mnl_attr_get_u16(proto[CTA_PROTO_SRC_PORT]));
  if (has(proto[CTA_PROTO_DST_PORT], MNL_TYPE_U16)) f.dport = ntohs(mnl_attr_get_u16(proto[CTA_PROTO_DST_PORT]));
  if (has(top[CTA_ID], MNL_TYPE_U32)) f.id = ntohl(mnl_attr_get_u32(top[CTA_ID]));
  addCounters(top[CTA_COUNTERS_ORIG], f);
  addCounters(top[CTA_COUNTERS_REPLY], f);
  out = f;
  return true;
}

}  // namespace bulwark::conntrack
