// get-conns: names of the connections loaded over VICI.
#include "bulwark/vpn/vici_commands.h"

namespace bulwark::vpn::vici {

ViciResult<std::vector<std::string>> getConns(ViciClient& c) {
  auto r = c.call("get-conns");
  if (!r) {
    return r.error();
  }
  const auto* conns = r->list("conns");
  if (!conns) {
    if (r->has("conns")) {
      return ViciError{ViciErrorKind::Malformed, "get-conns: 'conns' is not a list", 0, "get-conns"};
    }
    return std::vector<std::string>{};
  }
  return *conns;
}

}  // namespace bulwark::vpn::vici
