// list-conns: streams one list-conn event per connection.
#include "bulwark/vpn/vici_commands.h"

namespace bulwark::vpn::vici {

ViciResult<std::vector<NamedSection>> listConns(ViciClient& c, std::string_view ike) {
  Message req;
  if (!ike.empty()) {
    req.add("ike", std::string(ike));
  }
  std::vector<NamedSection> out;
  auto r = c.stream("list-conns", "list-conn", req, [&out](const Message& m) {
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
