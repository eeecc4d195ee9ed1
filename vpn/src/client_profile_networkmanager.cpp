// <name>.nmconnection: a NetworkManager keyfile for the strongswan VPN plugin. The files it
// names are where the README installs them (NetworkManager's charon-nm reads them as root).
#include <sstream>

#include "client_profile_texts.h"

namespace bulwark::vpn::detail {

std::string networkManagerKeyfile(const ProfileContext& c) {
  const pki::BundleInput& a = c.admin;
  const std::string dir = "/etc/bulwark-vpn/" + a.name + "/";
  std::ostringstream o;
  o << "# Bulwark admin VPN for " << a.name << " (group " << a.group << "); see " << a.name << ".README.txt.\n"
    << "[connection]\n"
    << "id=" << c.connName << "\n"
    << "uuid=" << randomUuid() << "\n"
    << "type=vpn\n"
    << "autoconnect=false\n\n"
    << "[vpn]\n"
    << "service-type=org.freedesktop.NetworkManager.strongswan\n"
    << "address=" << c.address << "\n"
    << "certificate=" << dir << "ca.crt\n"
    << "method=key\n"
    << "usercert=" << dir << a.certFileName << "\n"
    << "userkey=" << dir << a.keyFileName << "\n"
    << "local-identity=" << a.identity << "\n"
    << "remote-identity=" << c.params.gatewayId << "\n"
    << "virtual=yes\n"
    << "encap=no\n"
    << "ipcomp=no\n"
    << "proposal=yes\n"
    << "ike=" << join(c.params.proposals.ike, ";") << "\n"
    << "esp=" << join(c.params.proposals.esp, ";") << "\n\n"
    << "[ipv4]\n"
    << "method=auto\n\n"
    << "[ipv6]\n"
    << "method=ignore\n";
  return o.str();
}

}  // namespace bulwark::vpn::detail
