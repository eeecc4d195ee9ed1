// <name>.swanctl.conf: the connection for strongSwan's swanctl (Linux, charon-systemd).
#include <sstream>

#include "client_profile_texts.h"

namespace bulwark::vpn::detail {

std::string swanctlProfile(const ProfileContext& c) {
  const pki::BundleInput& a = c.admin;
  std::ostringstream o;
  o << "# Bulwark admin VPN profile for " << a.name << " (group " << a.group << ").\n"
    << "# Install: " << a.certFileName << " -> /etc/swanctl/x509/, " << a.keyFileName
    << " -> /etc/swanctl/private/ (mode 0600),\n"
    << "#          ca.crt -> /etc/swanctl/x509ca/bulwark-ca.crt; then `swanctl --load-all`\n"
    << "#          and `swanctl --initiate --child bulwark`.\n"
    << "connections {\n"
    << "  " << c.connName << " {\n"
    << "    version = 2\n"
    << "    remote_addrs = " << c.address << "\n"
    << "    vips = 0.0.0.0\n"
    << "    proposals = " << join(c.params.proposals.ike, ", ") << "\n"
    << "    local {\n"
    << "      auth = pubkey\n"
    << "      certs = " << a.certFileName << "\n"
    << "      id = \"" << a.identity << "\"\n"
    << "    }\n"
    << "    remote {\n"
    << "      auth = pubkey\n"
    << "      id = " << c.params.gatewayId << "\n"
    << "      cacerts = bulwark-ca.crt\n"
    << "    }\n"
    << "    children {\n"
    << "      bulwark {\n"
    << "        remote_ts = 0.0.0.0/0  # the gateway narrows this to what the group may reach\n"
    << "        esp_proposals = " << join(c.params.proposals.esp, ", ") << "\n"
    << "        start_action = none\n"
    << "      }\n"
    << "    }\n"
    << "  }\n"
    << "}\n";
  return o.str();
}

}  // namespace bulwark::vpn::detail
