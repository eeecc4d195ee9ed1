#include "nft_delete_table.h"

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <cerrno>
#include <ctime>
#include <memory>
#include <vector>

#include "bulwark/firewall/ruleset.h"

namespace bulwark::daemon {

gateway::Status deleteBulwarkTable() {
  using SockPtr = std::unique_ptr<mnl_socket, decltype(&mnl_socket_close)>;
  using TablePtr = std::unique_ptr<nftnl_table, decltype(&nftnl_table_free)>;
  SockPtr nl(mnl_socket_open(NETLINK_NETFILTER), &mnl_socket_close);
  if (!nl) return gateway::sysError("netlink socket", errno);
  if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) return gateway::sysError("netlink bind", errno);

  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  auto seq = static_cast<std::uint32_t>(std::time(nullptr));
  mnl_nlmsg_batch* batch = mnl_nlmsg_batch_start(buf.data(), buf.size());
  nftnl_batch_begin(static_cast<char*>(mnl_nlmsg_batch_current(batch)), seq++);
  mnl_nlmsg_batch_next(batch);

  TablePtr t(nftnl_table_alloc(), &nftnl_table_free);
  nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, firewall::kTableName);
  nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, NFPROTO_INET);
  // DESTROY would ignore absence, but needs Linux 6.3; DELTABLE + ENOENT is checked below.
  auto* nlh = nftnl_table_nlmsg_build_hdr(static_cast<char*>(mnl_nlmsg_batch_current(batch)), NFT_MSG_DELTABLE,
                                          NFPROTO_INET, NLM_F_ACK, seq);
  seq++;
  nftnl_table_nlmsg_build_payload(nlh, t.get());
  mnl_nlmsg_batch_next(batch);
  nftnl_batch_end(static_cast<char*>(mnl_nlmsg_batch_current(batch)), seq++);
  mnl_nlmsg_batch_next(batch);

  auto size = mnl_nlmsg_batch_size(batch);
  ssize_t sent = mnl_socket_sendto(nl.get(), mnl_nlmsg_batch_head(batch), size);
  mnl_nlmsg_batch_stop(batch);
  if (sent < 0) return gateway::sysError("netlink send", errno);

  std::vector<char> rbuf(MNL_SOCKET_BUFFER_SIZE);
  ssize_t n = mnl_socket_recvfrom(nl.get(), rbuf.data(), rbuf.size());
  if (n < 0) return gateway::sysError("netlink receive", errno);
  int ret = mnl_cb_run(rbuf.data(), static_cast<std::size_t>(n), 0, mnl_socket_get_portid(nl.get()), nullptr, nullptr);
  if (ret < 0 && errno != ENOENT) {
    return gateway::sysError("delete table inet " + std::string(firewall::kTableName), errno);
  }
  return gateway::okStatus();
}

}  // namespace bulwark::daemon
