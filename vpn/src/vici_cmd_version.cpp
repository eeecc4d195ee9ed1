// version: daemon and system identification.
#include "bulwark/vpn/vici_commands.h"

namespace bulwark::vpn::vici {

ViciResult<VersionInfo> version(ViciClient& c) {
  auto r = c.call("version");
  if (!r) {
    return r.error();
  }
  return VersionInfo{r->get("daemon"), r->get("version"), r->get("sysname"), r->get("release"), r->get("machine")};
}

}  // namespace bulwark::vpn::vici
