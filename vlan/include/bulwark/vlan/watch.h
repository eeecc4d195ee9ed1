#pragma once
// rtnetlink change notifications for the links' drift repair, loop-agnostic: links
// (RTNLGRP_LINK), addresses (RTNLGRP_IPV4_IFADDR/IPV6_IFADDR) and per-interface
// forwarding/rp_filter (RTNLGRP_IPV4_NETCONF/IPV6_NETCONF). Poll fd() for readability, then
// drain() reads every queued notification without waiting: true when any arrived (or some
// were lost, ENOBUFS), and the caller re-plans (three dumps: cheap). Which link changed does
// not matter: the plan compares every owned link, and a foreign link taking an owned name or
// VLAN id matters as much as an owned one changing.
#include <memory>

#include "bulwark/vlan/result.h"

namespace bulwark::vlan {

namespace nl {
class Rtnl;
}

class LinkWatch {
 public:
  [[nodiscard]] static Result<LinkWatch> open();
  LinkWatch(LinkWatch&&) noexcept;
  LinkWatch& operator=(LinkWatch&&) noexcept;
  ~LinkWatch();

  [[nodiscard]] int fd() const;
  [[nodiscard]] bool drain();

 private:
  explicit LinkWatch(std::unique_ptr<nl::Rtnl> rtnl);
  std::unique_ptr<nl::Rtnl> rtnl_;
};

}  // namespace bulwark::vlan
