// The nftables events of table inet bulwark by generation, for the drift check's partial read.
#include "bulwark/firewall/table_journal.h"

#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <arpa/inet.h>

#include "bulwark/firewall/watch.h"

namespace bulwark::firewall {

namespace {

// Attribute `type` of a notification (after its nfgenmsg), or null.
const nlattr* attrOf(const nlmsghdr* nlh, std::uint16_t type) {
  if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(nfgenmsg))) return nullptr;
  const auto* base = static_cast<const char*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(nfgenmsg)));
  const auto* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
  const auto* attr = reinterpret_cast<const nlattr*>(base);
  for (int left = static_cast<int>(tail - base); mnl_attr_ok(attr, left);) {
    if (mnl_attr_get_type(attr) == type) return attr;
    left -= static_cast<int>(MNL_ALIGN(attr->nla_len));
    attr = static_cast<const nlattr*>(mnl_attr_next(attr));
  }
  return nullptr;
}

// The string attribute `type` (NFTA_RULE_CHAIN, NFTA_SET_ELEM_LIST_SET), or nullopt.
std::optional<std::string> nameOf(const nlmsghdr* nlh, std::uint16_t type) {
  const nlattr* a = attrOf(nlh, type);
  if (a == nullptr || mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0) return std::nullopt;
  return std::string(mnl_attr_get_str(a));
}

}  // namespace

void TableJournal::restart(std::uint32_t genId) {
  std::lock_guard<std::mutex> lock(mutex_);
  started_ = true;
  known_ = genId;
  open_ = {};
  openHasEvents_ = false;
  closed_.clear();
}

void TableJournal::lost() {
  std::lock_guard<std::mutex> lock(mutex_);
  started_ = false;
  open_ = {};
  openHasEvents_ = false;
  closed_.clear();
}

void TableJournal::note(const void* p) {
  const auto* nlh = static_cast<const nlmsghdr*>(p);
  if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES) return;
  const auto msg = NFNL_MSG_TYPE(nlh->nlmsg_type);
  std::lock_guard<std::mutex> lock(mutex_);
  if (msg == NFT_MSG_NEWGEN) {
    const nlattr* a = attrOf(nlh, NFTA_GEN_ID);
    if (a == nullptr || mnl_attr_validate(a, MNL_TYPE_U32) < 0) {
      open_.whole = true;  // a generation we cannot number: the next one closes it with ours
      openHasEvents_ = true;
      return;
    }
    close(ntohl(mnl_attr_get_u32(a)));
    return;
  }
  if (!concernsBulwarkTable(nlh)) return;
  openHasEvents_ = true;
  if (open_.whole) return;  // a replacement's tens of thousands of messages: nothing to name
  std::optional<std::string> name;
  if (msg == NFT_MSG_NEWRULE || msg == NFT_MSG_DELRULE) {
    name = nameOf(nlh, NFTA_RULE_CHAIN);
    if (name) open_.chains.insert(*name);
  } else if (msg == NFT_MSG_NEWSETELEM || msg == NFT_MSG_DELSETELEM) {
    name = nameOf(nlh, NFTA_SET_ELEM_LIST_SET);
    if (name) open_.sets.insert(*name);
  }
  // Tables, chains, sets, objects, flowtables, or a message without its name.
  if (!name) open_.whole = true;
}

void TableJournal::close(std::uint32_t genId) {
  Generation g = std::move(open_);
  open_ = {};
  openHasEvents_ = false;
  if (!started_ || genId <= known_) return;  // a generation before what is known: not asked about
  if (g.whole) {
    g.chains.clear();
    g.sets.clear();
  }
  closed_[genId] = std::move(g);
  if (closed_.size() > kMaxGenerations) {
    known_ = closed_.begin()->first;
    closed_.erase(closed_.begin());
  }
}

std::optional<TouchedNames> TableJournal::since(std::uint32_t genId) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!started_ || genId < known_ || openHasEvents_) return std::nullopt;
  std::set<std::string> chains;
  std::set<std::string> sets;
  std::uint32_t last = genId;
  for (auto it = closed_.upper_bound(genId); it != closed_.end(); ++it) {
    if (it->first != last + 1 || it->second.whole) return std::nullopt;  // a gap, or not nameable
    last = it->first;
    chains.insert(it->second.chains.begin(), it->second.chains.end());
    sets.insert(it->second.sets.begin(), it->second.sets.end());
  }
  return TouchedNames{{chains.begin(), chains.end()}, {sets.begin(), sets.end()}, last};
}

void TableJournal::forget(std::uint32_t genId) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!started_ || genId <= known_) return;
  known_ = genId;
  closed_.erase(closed_.begin(), closed_.upper_bound(genId));
}

}  // namespace bulwark::firewall
