// list-sas: streams one list-sa event per IKE_SA.
#include "bulwark/vpn/vici_commands.h"

namespace bulwark::vpn::vici {

ViciResult<std::vector<NamedSection>> listSas(ViciClient& c, std::string_view ike) {
  Message req;
  if (!ike.empty()) {
    req.add("ike", std::string(ike));
  }
  std::vector<NamedSection> out;
  auto r = c.stream("list-sas", "list-sa", req, [&out](const Message& m) {
    for (const auto& e : m.entries()) {
      if (e.kind == Entry::Kind::Section) {
        out.push_back(NamedSection{e.name, e.section});
      }
    }
  });
  if (!r) {
    return r.error();
  }
  return out;
}

}  // namespace bulwark::vpn::vici
