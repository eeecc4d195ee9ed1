// The nftables change watch: a non-blocking nl::Socket subscribed to NFNLGRP_NFTABLES.
#include "bulwark/firewall/watch.h"

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <cstring>

#include "bulwark/firewall/ruleset.h"
#include "nl/socket.h"

namespace bulwark::firewall {

bool concernsBulwarkTable(const void* p) {
  const auto* nlh = static_cast<const nlmsghdr*>(p);
  if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES) return false;
  auto msg = NFNL_MSG_TYPE(nlh->nlmsg_type);
  if (msg == NFT_MSG_NEWGEN) return false;
  if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(nfgenmsg))) return false;
  const auto* nfg = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(nlh));
  if (nfg->nfgen_family != NFPROTO_INET) return false;
  // Every object message names its table in attribute 1 (NFTA_TABLE_NAME, NFTA_CHAIN_TABLE,
  // NFTA_RULE_TABLE, NFTA_SET_TABLE, NFTA_SET_ELEM_LIST_TABLE, NFTA_OBJ_TABLE, ...).
  bool match = false;
  const auto* base = static_cast<const char*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(nfgenmsg)));
  const auto* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
  const auto* attr = reinterpret_cast<const nlattr*>(base);
  for (int left = static_cast<int>(tail - base); mnl_attr_ok(attr, left);) {
    if (mnl_attr_get_type(attr) == 1) {
      if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0) return true;  // can't tell: check
      match = std::strcmp(mnl_attr_get_str(attr), kTableName) == 0;
      break;
    }
    left -= static_cast<int>(MNL_ALIGN(attr->nla_len));
    attr = static_cast<const nlattr*>(mnl_attr_next(attr));
  }
  return match;
}

struct TableWatch::Impl {
  nl::Socket sock;
  std::shared_ptr<TableJournal> journal;

  // The journal knows every generation after the one read now (the socket is subscribed, and
  // what it missed is before); without that generation it knows nothing.
  void restartJournal() const {
    if (!journal) return;
    auto reader = nl::Socket::open();
    auto gen = reader ? reader->genId() : KernelResult<std::uint32_t>(reader.error());
    if (gen) {
      journal->restart(*gen);
    } else {
      journal->lost();
    }
  }
};

TableWatch::TableWatch(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TableWatch::TableWatch(TableWatch&&) noexcept = default;
TableWatch& TableWatch::operator=(TableWatch&&) noexcept = default;
TableWatch::~TableWatch() = default;

KernelResult<TableWatch> TableWatch::open(std::shared_ptr<TableJournal> journal) {
  auto sock = nl::Socket::open(/*nonBlocking=*/true);
  if (!sock) return sock.error();
  // A full-table replacement of a large policy is tens of thousands of notifications.
  if (auto s = sock->subscribe(NFNLGRP_NFTABLES, 8u << 20); !s) return s.error();
  auto impl = std::make_unique<Impl>(Impl{std::move(sock.value()), std::move(journal)});
  impl->restartJournal();
  return TableWatch(std::move(impl));
}

int TableWatch::fd() const { return impl_->sock.fd(); }

bool TableWatch::drain() {
  bool relevant = false;
  const bool lost = impl_->sock.drain([&](const nlmsghdr* nlh) {
    if (impl_->journal) impl_->journal->note(nlh);
    if (!relevant && concernsBulwarkTable(nlh)) relevant = true;
  });
  if (lost) impl_->restartJournal();  // what was lost is before the generation read now
  return relevant || lost;
}

}  // namespace bulwark::firewall
