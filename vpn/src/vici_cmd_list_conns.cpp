// list-conns: streams one list-conn event per connection.
#include "vici_named_sections.h"

namespace bulwark::vpn::vici {

ViciResult<std::vector<NamedSection>> listConns(ViciClient& c, std::string_view ike) {
  return streamNamedSections(c, "list-conns", "list-conn", ike);
}

}  // namespace bulwark::vpn::vici
