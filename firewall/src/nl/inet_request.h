#pragma once
// The requests that read table inet bulwark back (observe, the counter scrape): each one
// message of the inet family, built the same way whatever object it asks about.
#include <cstdint>
#include <functional>

#include "nl/socket.h"

namespace bulwark::firewall::nl {

// One request of message `type` (NFT_MSG_GET*) with `flags` (NLM_F_DUMP or NLM_F_ACK) for the
// inet family; `payload`, when given, writes the attributes naming what is asked for (a
// libnftnl object's, or bare ones). Every reply message goes to `cb`.
[[nodiscard]] KernelResult<Unit> requestInet(Socket& sock, std::uint16_t type, std::uint16_t flags,
                                             const std::function<void(nlmsghdr*)>& payload,
                                             const Socket::MsgCallback& cb);

// Whether table inet bulwark exists (NFT_MSG_GETTABLE; ENOENT is false, not an error).
[[nodiscard]] KernelResult<bool> tableExists(Socket& sock);

}  // namespace bulwark::firewall::nl
