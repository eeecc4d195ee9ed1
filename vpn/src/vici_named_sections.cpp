#include "vici_named_sections.h"

#include <string>

namespace bulwark::vpn::vici {

ViciResult<std::vector<NamedSection>> streamNamedSections(ViciClient& c, std::string_view command,
                                                          std::string_view event, std::string_view ike) {
  Message req;
  if (!ike.empty()) {
    req.add("ike", std::string(ike));
  }
  std::vector<NamedSection> out;
  auto r = c.stream(command, event, req, [&out](const Message& m) {
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
