// list-certs: streams one list-cert event per loaded certificate/CRL.
#include "bulwark/vpn/vici_commands.h"

namespace bulwark::vpn::vici {

ViciResult<std::vector<ListedCert>> listCerts(ViciClient& c, std::string_view type, std::string_view flag) {
  Message req;
  if (!type.empty()) {
    req.add("type", std::string(type));
  }
  if (!flag.empty()) {
    req.add("flag", std::string(flag));
  }
  std::vector<ListedCert> out;
  auto r = c.stream("list-certs", "list-cert", req, [&out](const Message& m) {
    out.push_back(ListedCert{m.get("type"), m.get("flag"), m.get("has_privkey") == "yes", m.get("data")});
  });
  if (!r) {
    return r.error();
  }
  return out;
}

}  // namespace bulwark::vpn::vici
