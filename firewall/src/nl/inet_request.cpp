#include "nl/inet_request.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <cerrno>

#include "nl/nftnl.h"

namespace bulwark::firewall::nl {

KernelResult<Unit> requestInet(Socket& sock, std::uint16_t type, std::uint16_t flags,
                               const std::function<void(nlmsghdr*)>& payload, const Socket::MsgCallback& cb) {
  return sock.request(
      [&](char* buf, std::uint32_t seq) {
        nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET, flags, seq);
        if (payload) payload(nlh);
        return nlh;
      },
      cb);
}

KernelResult<bool> tableExists(Socket& sock) {
  TablePtr table(nftnl_table_alloc());
  nftnl_table_set_str(table.get(), NFTNL_TABLE_NAME, kTableName);
  auto r = requestInet(
      sock, NFT_MSG_GETTABLE, NLM_F_ACK, [&](nlmsghdr* nlh) { nftnl_table_nlmsg_build_payload(nlh, table.get()); },
      [](const nlmsghdr*) { return MNL_CB_OK; });
  if (!r) {
    if (r.error().sysErrno == ENOENT) return false;
    return r.error();
  }
  return true;
}

}  // namespace bulwark::firewall::nl
