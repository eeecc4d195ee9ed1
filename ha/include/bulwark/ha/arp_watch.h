#pragma once
// Who else answers for the floating IPv4 addresses: ARP seen on the node's interfaces (an
// AF_PACKET socket for ARP only, needs CAP_NET_RAW) and ARP requests sent to ask. keepalived
// announces a takeover with gratuitous ARP (sender address = target address = the floating
// address); a node that sees another machine do that for an address it holds itself is in a
// split brain. Frames the node sent itself are ignored.
#include <array>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "bulwark/base/unique_fd.h"
#include "bulwark/ha/loop.h"
#include "bulwark/ha/result.h"
#include "bulwark/policies/net.h"

namespace bulwark::ha {

using Mac = std::array<std::uint8_t, 6>;
[[nodiscard]] std::string macString(const Mac& m);

struct ArpSeen {
  std::string interface;
  policies::IpAddress address;  // the sender's protocol address: one of the watched ones
  Mac mac{};                    // the sender's hardware address: not one of ours
  bool gratuitous = false;      // an announcement (sender = target), not an answer to someone
};

class ArpWatch {
 public:
  [[nodiscard]] static Result<std::unique_ptr<ArpWatch>> open(Loop& loop, std::function<void(const ArpSeen&)> seen);
  ~ArpWatch();
  ArpWatch(const ArpWatch&) = delete;
  ArpWatch& operator=(const ArpWatch&) = delete;

  // Report ARP from other machines claiming these addresses (replaces the set).
  void watch(std::set<policies::IpAddress> addresses) { watched_ = std::move(addresses); }
  // "Who has `target`? Tell `sender`" on `interface`, broadcast.
  [[nodiscard]] Status probe(const std::string& interface, const policies::IpAddress& sender,
                             const policies::IpAddress& target);

 private:
  ArpWatch(Loop& loop, UniqueFd fd, std::function<void(const ArpSeen&)> seen)
      : loop_(loop), fd_(std::move(fd)), seen_(std::move(seen)) {}
  void onReadable();
  std::optional<Mac> macOf(int ifindex);
  Loop& loop_;
  UniqueFd fd_;
  std::function<void(const ArpSeen&)> seen_;
  std::set<policies::IpAddress> watched_;
  std::map<int, Mac> macs_;  // ifindex -> its address (our own frames are not claims)
};

}  // namespace bulwark::ha
