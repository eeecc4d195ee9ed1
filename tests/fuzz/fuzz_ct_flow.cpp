// The top talkers' ctnetlink entry parser (conntrack/src/flow_message.cpp) on arbitrary
// message payloads (what follows the netlink header: nfgenmsg and the attributes): never
// crash, never read past the message; a parse either fails or gives an IPv4/IPv6 flow.
#include <linux/netlink.h>
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "bulwark/conntrack/flow.h"
#include "flow_message.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 65536 - sizeof(nlmsghdr)) return 0;  // no bigger than the reader's buffer
  // The message exactly as long as its header says (the reader checks that with
  // mnl_nlmsg_ok before it parses), in a buffer of its own so ASan sees any overread.
  std::vector<std::uint8_t> buf(sizeof(nlmsghdr) + size);
  nlmsghdr h{};
  h.nlmsg_len = static_cast<std::uint32_t>(buf.size());
  h.nlmsg_type = (1 << 8) | 0;  // NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_NEW
  std::memcpy(buf.data(), &h, sizeof h);
  if (size > 0) std::memcpy(buf.data() + sizeof h, data, size);
  bulwark::conntrack::Flow f;
  if (bulwark::conntrack::parseFlow(reinterpret_cast<const nlmsghdr*>(buf.data()), f)) {
    if (f.family != AF_INET && f.family != AF_INET6) __builtin_trap();
  }
  return 0;
}
