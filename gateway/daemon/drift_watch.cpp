#include "drift_watch.h"

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/epoll.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "bulwark/firewall/ruleset.h"

namespace bulwark::daemon {

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
      match = std::strcmp(mnl_attr_get_str(attr), firewall::kTableName) == 0;
      break;
    }
    left -= static_cast<int>(MNL_ALIGN(attr->nla_len));
    attr = static_cast<const nlattr*>(mnl_attr_next(attr));
  }
  return match;
}

Result<std::unique_ptr<DriftWatch>> DriftWatch::start(EventLoop& loop, std::function<void()> onChange) {
  mnl_socket* nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (!nl) return gateway::sysError("netlink socket", errno);
  std::unique_ptr<DriftWatch> w(new DriftWatch(loop, nl, std::move(onChange)));
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) return gateway::sysError("netlink bind", errno);
  int group = NFNLGRP_NFTABLES;
  if (mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) {
    return gateway::sysError("subscribe to nftables events", errno);
  }
  // A full-table replacement of a large policy is tens of thousands of notifications.
  int rcvbuf = 8 << 20;
  if (::setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0) {
    ::setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  }
  auto* raw = w.get();
  auto s = loop.watch(mnl_socket_get_fd(nl), EPOLLIN, [raw](std::uint32_t) { raw->onReadable(); });
  if (!s) return s.error();
  return w;
}

DriftWatch::~DriftWatch() {
  loop_.unwatch(mnl_socket_get_fd(nl_));
  mnl_socket_close(nl_);
}

void DriftWatch::onReadable() {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE * 4);
  bool relevant = false;
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl_, buf.data(), buf.size());
    if (n < 0) {
      if (errno == ENOBUFS) {
        relevant = true;  // events were lost: re-observe
        continue;
      }
      break;  // EAGAIN: drained
    }
    int len = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data()); mnl_nlmsg_ok(nlh, len);
         nlh = mnl_nlmsg_next(nlh, &len)) {
      if (!relevant && concernsBulwarkTable(nlh)) relevant = true;
    }
  }
  if (relevant) onChange_();
}

}  // namespace bulwark::daemon
