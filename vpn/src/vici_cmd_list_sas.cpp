// list-sas: streams one list-sa event per IKE_SA.
#include "vici_named_sections.h"

namespace bulwark::vpn::vici {

ViciResult<std::vector<NamedSection>> listSas(ViciClient& c, std::string_view ike) {
  return streamNamedSections(c, "list-sas", "list-sa", ike);
}

}  // namespace bulwark::vpn::vici
