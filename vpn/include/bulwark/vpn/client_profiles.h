#pragma once
// The files an admin imports on their own machine to reach the gateway, written next to the
// PKCS#12 by `bulwarkctl pki issue` (pki::IssueOptions::bundle, in the issuance's
// transaction). Every profile carries the gateway's own proposals (gatewayProposals): the
// strongSwan-based clients get the lists as they are; Apple and Windows, which take one set
// of algorithms, get the first gateway proposal they can express.
//   <name>.swanctl.conf     strongSwan swanctl (Linux, charon-systemd)
//   <name>.mobileconfig     Apple macOS/iOS: com.apple.vpn.managed IKEv2 + PKCS#12 + CA payloads
//   <name>.sswan            strongSwan VPN Client for Android (JSON, PKCS#12 inside)
//   <name>.nmconnection     NetworkManager keyfile for network-manager-strongswan (0600)
//   <name>.ps1              Windows PowerShell: certificate import, Add-VpnConnection,
//                           Set-VpnConnectionIPsecConfiguration
//   <name>.README.txt       what each file is and how to import it
// No profile contains the PKCS#12 password: clients ask for it on import.
#include <string>
#include <vector>

#include "bulwark/pki/pki.h"
#include "bulwark/vpn/proposals.h"

namespace bulwark::vpn {

struct ClientProfileParams {
  std::string gatewayId;       // the gateway's IKE identity (its certificate's CN/SAN)
  std::string gatewayAddress;  // where clients connect; empty: gatewayId
  Proposals proposals;         // the gateway's (gatewayProposals / defaultProposals)
};

[[nodiscard]] std::vector<pki::BundleFile> clientProfiles(const ClientProfileParams& params,
                                                          const pki::BundleInput& admin);

}  // namespace bulwark::vpn
