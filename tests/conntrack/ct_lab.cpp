#include "ct_lab.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <vector>

namespace bulwark::conntrack::testing {

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>/dev/null").c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 65536> buf{};
  std::size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  pclose(p);
  return out;
}

bool setUp(std::string& why) {
  // NOLINTNEXTLINE(cert-env33-c): fixed commands, in the caller's private namespace
  if (std::system("ip link set lo up && nft 'add table inet ctlab; add chain inet ctlab out "
                  "{ type filter hook output priority 0; }; add rule inet ctlab out ct state new counter'") != 0) {
    why = "nft/ip failed (root? nftables?)";
    return false;
  }
  std::ofstream acct("/proc/sys/net/netfilter/nf_conntrack_acct");
  acct << "1\n";
  acct.close();
  if (!acct) {
    why = "cannot set nf_conntrack_acct";
    return false;
  }
  return true;
}

std::size_t makeUdpFlows(std::size_t count, std::size_t payload, int datagrams) {
  // Flows differ by destination port (1024..65535) and, past that, by source socket (a new
  // socket per round of ports).
  constexpr std::size_t kPorts = 64512;
  std::vector<char> data(payload, 'x');
  std::size_t made = 0;
  while (made < count) {
    int s = ::socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0) break;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (std::size_t p = 0; p < kPorts && made < count; ++p, ++made) {
      a.sin_port = htons(static_cast<std::uint16_t>(1024 + p));
      for (int d = 0; d < datagrams; ++d) {
        (void)::sendto(s, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
      }
    }
    ::close(s);
  }
  return made;
}

}  // namespace bulwark::conntrack::testing
