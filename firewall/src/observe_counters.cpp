// The counters of table inet bulwark without reading the table back: one NFT_MSG_GETRULE
// dump, and of each rule only what a scrape needs (chain, handle, comment, the first counter
// expression, a jump/goto target) is decoded straight from the netlink attributes. No set
// or element dumps, no libnftnl rule objects, no raising to the IR: observe() does all of
// that (one GETSETELEM request per set, which is what makes it slow on tables with thousands
// of sets), and a scrape needs none of it.
#include <arpa/inet.h>
#include <endian.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <cstring>

#include "bulwark/firewall/observe.h"
#include "nl/inet_request.h"
#include "nl/nftnl.h"

namespace bulwark::firewall {
namespace {

constexpr std::uint16_t kFamily = NFPROTO_INET;

// Attributes of one nesting level, indexed by type (unknown/oversized types ignored).
template <std::size_t N>
struct Attrs {
  const nlattr* at[N + 1] = {};
  const nlattr* operator[](std::size_t i) const { return i <= N ? at[i] : nullptr; }
};

template <std::size_t N>
int collect(const nlattr* a, void* data) {
  auto* out = static_cast<Attrs<N>*>(data);
  const auto type = mnl_attr_get_type(a);
  if (type <= N) out->at[type] = a;
  return MNL_CB_OK;
}

template <std::size_t N>
Attrs<N> nested(const nlattr* parent) {
  Attrs<N> out;
  mnl_attr_parse_nested(parent, collect<N>, &out);
  return out;
}

std::string str(const nlattr* a) {
  if (a == nullptr) return {};
  const auto* p = static_cast<const char*>(mnl_attr_get_payload(a));
  return std::string(p, strnlen(p, mnl_attr_get_payload_len(a)));
}

std::uint64_t be64(const nlattr* a) {
  if (a == nullptr || mnl_attr_get_payload_len(a) < sizeof(std::uint64_t)) return 0;
  std::uint64_t v = 0;
  std::memcpy(&v, mnl_attr_get_payload(a), sizeof v);
  return be64toh(v);
}

// One expression: a counter's values, or an immediate jump/goto's target.
void readExpr(const nlattr* elem, RuleSample& out) {
  auto e = nested<NFTA_EXPR_MAX>(elem);
  if (e[NFTA_EXPR_NAME] == nullptr || e[NFTA_EXPR_DATA] == nullptr) return;
  const std::string name = str(e[NFTA_EXPR_NAME]);
  if (name == "counter" && !out.hasCounter) {
    auto c = nested<NFTA_COUNTER_MAX>(e[NFTA_EXPR_DATA]);
    out.hasCounter = true;
    out.packets = be64(c[NFTA_COUNTER_PACKETS]);
    out.bytes = be64(c[NFTA_COUNTER_BYTES]);
  } else if (name == "immediate") {
    auto im = nested<NFTA_IMMEDIATE_MAX>(e[NFTA_EXPR_DATA]);
    if (im[NFTA_IMMEDIATE_DATA] == nullptr) return;
    auto data = nested<NFTA_DATA_MAX>(im[NFTA_IMMEDIATE_DATA]);
    if (data[NFTA_DATA_VERDICT] == nullptr) return;
    auto v = nested<NFTA_VERDICT_MAX>(data[NFTA_DATA_VERDICT]);
    if (v[NFTA_VERDICT_CODE] == nullptr || v[NFTA_VERDICT_CHAIN] == nullptr) return;
    const auto code = static_cast<std::int32_t>(ntohl(mnl_attr_get_u32(v[NFTA_VERDICT_CODE])));
    if (code == NFT_JUMP || code == NFT_GOTO) out.jumpTo = str(v[NFTA_VERDICT_CHAIN]);
  }
}

}  // namespace

KernelResult<std::optional<CounterDump>> observeCounters() {
  auto sock = nl::Socket::open();
  if (!sock) return sock.error();
  auto gen = sock->genId();
  if (!gen) return gen.error();

  // The table first: a rule dump of an absent table is just empty.
  auto exists = nl::tableExists(*sock);
  if (!exists) return exists.error();
  if (!*exists) return std::optional<CounterDump>{};

  CounterDump out;
  out.genId = *gen;
  auto rr = nl::requestInet(
      *sock, NFT_MSG_GETRULE, NLM_F_DUMP, [](nlmsghdr* nlh) { mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, kTableName); },
      [&](const nlmsghdr* nlh) {
        if ((nlh->nlmsg_type & 0xff) != NFT_MSG_NEWRULE) return MNL_CB_OK;
        Attrs<NFTA_RULE_MAX> a;
        mnl_attr_parse(nlh, sizeof(nfgenmsg), collect<NFTA_RULE_MAX>, &a);
        const auto* nfg = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(nlh));
        if (nfg->nfgen_family != kFamily || str(a[NFTA_RULE_TABLE]) != kTableName) return MNL_CB_OK;
        RuleSample s;
        s.chain = str(a[NFTA_RULE_CHAIN]);
        s.handle = be64(a[NFTA_RULE_HANDLE]);
        if (a[NFTA_RULE_USERDATA] != nullptr) {
          s.comment = nl::udataFind(mnl_attr_get_payload(a[NFTA_RULE_USERDATA]),
                                    mnl_attr_get_payload_len(a[NFTA_RULE_USERDATA]), NFTNL_UDATA_RULE_COMMENT);
        }
        if (a[NFTA_RULE_EXPRESSIONS] != nullptr) {
          mnl_attr_parse_nested(
              a[NFTA_RULE_EXPRESSIONS],
              [](const nlattr* elem, void* data) {
                if (mnl_attr_get_type(elem) == NFTA_LIST_ELEM) readExpr(elem, *static_cast<RuleSample*>(data));
                return MNL_CB_OK;
              },
              &s);
        }
        out.rules.push_back(std::move(s));
        return MNL_CB_OK;
      });
  if (!rr) return rr.error();
  return std::optional<CounterDump>(std::move(out));
}

}  // namespace bulwark::firewall
