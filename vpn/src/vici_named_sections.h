#pragma once
// The shape list-conns and list-sas share: a streamed command whose every event carries one
// named section per object (a connection, an IKE_SA), optionally only the one named `ike`.
#include <string_view>
#include <vector>

#include "bulwark/vpn/vici_commands.h"

namespace bulwark::vpn::vici {

[[nodiscard]] ViciResult<std::vector<NamedSection>> streamNamedSections(ViciClient& c, std::string_view command,
                                                                        std::string_view event, std::string_view ike);

}  // namespace bulwark::vpn::vici
