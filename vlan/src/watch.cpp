// The link change watch: a non-blocking rtnetlink socket (rtnl.cpp) subscribed to the groups
// that carry link, address and netconf changes.
#include "bulwark/vlan/watch.h"

#include <linux/rtnetlink.h>

#include "rtnl.h"

namespace bulwark::vlan {

LinkWatch::LinkWatch(std::unique_ptr<nl::Rtnl> rtnl) : rtnl_(std::move(rtnl)) {}
LinkWatch::LinkWatch(LinkWatch&&) noexcept = default;
LinkWatch& LinkWatch::operator=(LinkWatch&&) noexcept = default;
LinkWatch::~LinkWatch() = default;

Result<LinkWatch> LinkWatch::open() {
  auto rtnl = nl::Rtnl::openWatch({RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_NETCONF,
                                   RTNLGRP_IPV6_NETCONF});
  if (!rtnl) return rtnl.error();
  return LinkWatch(std::make_unique<nl::Rtnl>(std::move(rtnl.value())));
}

int LinkWatch::fd() const { return rtnl_->fd(); }

bool LinkWatch::drain() { return rtnl_->drain(); }

}  // namespace bulwark::vlan
