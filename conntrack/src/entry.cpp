#include "bulwark/conntrack/entry.h"

#include <netinet/in.h>

#include "bulwark/conntrack/flow.h"

namespace bulwark::conntrack {

std::string Entry::text() const {
  const char* name = protoName(proto);
  std::string s = *name != '\0' ? name : "proto " + std::to_string(proto);
  auto end = [&](const std::array<std::uint8_t, 16>& a, std::uint16_t port) {
    auto t = addressText(family, a);
    if (port == 0) return t;
    return (family == AF_INET6 ? "[" + t + "]" : t) + ":" + std::to_string(port);
  };
  s += " " + end(orig.src, orig.sport) + " -> " + end(orig.dst, orig.dport);
  if (dnat()) s += " (DNAT to " + end(reply.src, reply.sport) + ")";
  return s;
}

}  // namespace bulwark::conntrack
