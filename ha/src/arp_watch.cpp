#include "bulwark/ha/arp_watch.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace bulwark::ha {

namespace {

// An Ethernet/IPv4 ARP packet after the link-layer header (RFC 826).
struct ArpPacket {
  std::uint16_t htype;
  std::uint16_t ptype;
  std::uint8_t hlen;
  std::uint8_t plen;
  std::uint16_t oper;
  std::uint8_t sha[6];
  std::uint8_t spa[4];
  std::uint8_t tha[6];
  std::uint8_t tpa[4];
} __attribute__((packed));
static_assert(sizeof(ArpPacket) == 28);

policies::IpAddress v4(const std::uint8_t* b) {
  return policies::IpAddress::v4((std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3]);
}

}  // namespace

std::string macString(const Mac& m) {
  char s[18];
  std::snprintf(s, sizeof s, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return s;
}

Result<std::unique_ptr<ArpWatch>> ArpWatch::open(Loop& loop, std::function<void(const ArpSeen&)> seen) {
  UniqueFd fd(::socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ARP)));
  if (!fd.valid()) return sysError("ARP socket (AF_PACKET, needs CAP_NET_RAW)", errno);
  std::unique_ptr<ArpWatch> w(new ArpWatch(loop, std::move(fd), std::move(seen)));
  auto* self = w.get();
  loop.watchReadable(self->fd_.get(), [self] { self->onReadable(); });
  return w;
}

ArpWatch::~ArpWatch() { loop_.unwatch(fd_.get()); }

std::optional<Mac> ArpWatch::macOf(int ifindex) {
  if (auto it = macs_.find(ifindex); it != macs_.end()) return it->second;
  ifreq req{};
  if (!::if_indextoname(static_cast<unsigned>(ifindex), req.ifr_name)) return std::nullopt;
  if (::ioctl(fd_.get(), SIOCGIFHWADDR, &req) != 0) return std::nullopt;
  Mac m{};
  std::memcpy(m.data(), req.ifr_hwaddr.sa_data, m.size());
  macs_[ifindex] = m;
  return m;
}

void ArpWatch::onReadable() {
  for (int budget = 0; budget < 256; ++budget) {
    ArpPacket p{};
    sockaddr_ll from{};
    socklen_t len = sizeof from;
    ssize_t n = ::recvfrom(fd_.get(), &p, sizeof p, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) return;  // EAGAIN: drained
    if (n < static_cast<ssize_t>(sizeof p) || from.sll_pkttype == PACKET_OUTGOING) continue;
    if (ntohs(p.htype) != ARPHRD_ETHER || ntohs(p.ptype) != ETH_P_IP || p.hlen != 6 || p.plen != 4) continue;
    auto sender = v4(p.spa);
    if (!watched_.count(sender)) continue;
    Mac mac{};
    std::memcpy(mac.data(), p.sha, mac.size());
    // Our own frames (another of our interfaces, or one looped back) claim nothing.
    auto own = macOf(from.sll_ifindex);
    if (own && *own == mac) continue;
    bool ours = false;
    for (const auto& [i, m] : macs_) ours = ours || m == mac;
    if (ours) continue;
    char name[IF_NAMESIZE] = {};
    ::if_indextoname(static_cast<unsigned>(from.sll_ifindex), name);
    seen_(ArpSeen{name, sender, mac, std::memcmp(p.spa, p.tpa, 4) == 0});
  }
}

Status ArpWatch::probe(const std::string& interface, const policies::IpAddress& sender, const policies::IpAddress& target) {
  unsigned index = ::if_nametoindex(interface.c_str());
  if (index == 0) return sysError("ARP probe on " + interface, errno);
  auto mac = macOf(static_cast<int>(index));
  if (!mac) return Error{"ARP probe on " + interface + ": no hardware address"};
  ArpPacket p{};
  p.htype = htons(ARPHRD_ETHER);
  p.ptype = htons(ETH_P_IP);
  p.hlen = 6;
  p.plen = 4;
  p.oper = htons(ARPOP_REQUEST);
  std::memcpy(p.sha, mac->data(), 6);
  std::memcpy(p.spa, sender.bytes().data(), 4);
  std::memcpy(p.tpa, target.bytes().data(), 4);
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_protocol = htons(ETH_P_ARP);
  to.sll_ifindex = static_cast<int>(index);
  to.sll_halen = 6;
  std::memset(to.sll_addr, 0xff, 6);
  if (::sendto(fd_.get(), &p, sizeof p, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) != static_cast<ssize_t>(sizeof p)) {
    return sysError("ARP probe on " + interface, errno);
  }
  return okStatus();
}

}  // namespace bulwark::ha
