#include "bulwark/review/flow_space.h"

namespace bulwark::review {

U128 addressMax(Family f) { return f == Family::V4 ? U128{0xffffffffu} : ~U128{0}; }

U128 addressValue(const IpAddress& a) {
  if (a.isV4()) return a.v4HostOrder();
  U128 v = 0;
  for (auto b : a.bytes()) v = (v << 8) | b;
  return v;
}

IpAddress addressAt(Family f, U128 v) {
  if (f == Family::V4) return IpAddress::v4(static_cast<std::uint32_t>(v));
  std::array<std::uint8_t, 16> bytes{};
  for (int i = 15; i >= 0; --i) {
    bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v & 0xff);
    v >>= 8;
  }
  return IpAddress::fromBytes(Family::V6, bytes);
}

IntervalSet prefixSet(const Prefix& p) {
  return IntervalSet::of(addressValue(p.address()), addressValue(p.last()));
}

IntervalSet allAddresses(Family f) { return IntervalSet::of(0, addressMax(f)); }

bool protoHasPorts(std::uint8_t proto) { return proto == 6 || proto == 17 || proto == 132; }

IntervalSet allServices() { return IntervalSet::of(0, kSvcMax); }

IntervalSet protoSet(std::uint8_t proto) { return IntervalSet::of(svcValue(proto, 0), svcValue(proto, 0xffff)); }

IntervalSet portSet(const IntervalSet& ports) {
  std::vector<Interval> out;
  for (std::uint8_t p : {std::uint8_t{6}, std::uint8_t{17}, std::uint8_t{132}}) {
    for (const auto& r : ports.intervals()) {
      if (r.lo > 0xffff) break;
      auto hi = r.hi > 0xffff ? U128{0xffff} : r.hi;
      out.push_back({svcValue(p, static_cast<std::uint16_t>(r.lo)), svcValue(p, static_cast<std::uint16_t>(hi))});
    }
  }
  return IntervalSet::fromUnsorted(std::move(out));
}

IntervalSet serviceSpecSet(const policies::PortSpec& spec) {
  auto proto = policies::protocolNumber(spec.protocol);
  if (!protoHasPorts(proto)) return protoSet(proto);
  return IntervalSet::of(svcValue(proto, spec.ports.first), svcValue(proto, spec.ports.last));
}

std::string_view ipsecPathName(IpsecPath p) { return p == IpsecPath::Kernel ? "kernel IPsec" : "libipsec"; }

}  // namespace bulwark::review
