// <name>.README.txt: what each file of the bundle is, and how to import it on each client.
#include <sstream>

#include "client_profile_texts.h"

namespace bulwark::vpn::detail {

std::string readmeText(const ProfileContext& c, const std::vector<std::string>& missing) {
  const pki::BundleInput& a = c.admin;
  const Proposals& pr = c.params.proposals;
  const std::string& n = a.name;
  std::ostringstream o;
  o << "Bulwark admin VPN access for " << n << " (group " << a.group << ")\n"
    << "==============================================================\n\n"
    << "Gateway:           " << c.address << "\n"
    << "Gateway identity:  " << c.params.gatewayId << "\n"
    << "Your identity:     " << a.identity << "  (the certificate's subject; keep it)\n"
    << "IKE proposals:     " << join(pr.ike, ", ") << "\n"
    << "ESP proposals:     " << join(pr.esp, ", ") << "\n\n"
    << "Files\n-----\n"
    << "  " << n << ".p12            key + certificate + CA certificate (PKCS#12), protected by the\n"
    << "                      password shown once when it was issued\n"
    << "  " << n << ".key            your private key (PEM, unencrypted: keep it 0600, never share it)\n"
    << "  " << n << ".crt            your certificate\n"
    << "  ca.crt              the Bulwark admin CA (authenticates the gateway)\n"
    << "  " << n << ".swanctl.conf   strongSwan's swanctl (Linux, charon-systemd)\n"
    << "  " << n << ".mobileconfig   macOS / iOS configuration profile (holds the PKCS#12)\n"
    << "  " << n << ".sswan          strongSwan VPN Client for Android (holds the PKCS#12)\n"
    << "  " << n << ".nmconnection   NetworkManager (network-manager-strongswan) keyfile\n"
    << "  " << n << ".ps1            Windows 10/11 PowerShell set-up script\n";
  for (const auto& m : missing) {
    o << "  (no " << m << " profile: none of the gateway's proposals uses algorithms that client offers)\n";
  }
  o << "\nNo file holds the PKCS#12 password: every client asks for it when importing.\n"
    << "Delete this bundle from shared storage once it is installed on your device.\n\n"
    << "macOS / iOS\n-----------\n"
    << "  Open " << n << ".mobileconfig (macOS: double-click, then System Settings -> Privacy &\n"
    << "  Security -> Profiles -> Install; iOS: AirDrop or mail it, then Settings -> Profile\n"
    << "  Downloaded). Enter the PKCS#12 password when asked. The VPN appears as \"" << c.connName << "\".\n\n"
    << "Android (strongSwan VPN Client app)\n-----------------------------------\n"
    << "  Copy " << n << ".sswan to the device and open it with the app (or app menu -> Import VPN\n"
    << "  profile); enter the PKCS#12 password when asked. If the device says the password is wrong\n"
    << "  although it is right, its keystore predates PKCS#12 with AES/PBKDF2 (OpenSSL 3's format);\n"
    << "  ask for a new bundle rather than re-encrypting it with legacy RC2/3DES.\n\n"
    << "Linux, NetworkManager (network-manager-strongswan)\n"
    << "--------------------------------------------------\n"
    << "  sudo install -D -m 0644 ca.crt /etc/bulwark-vpn/" << n << "/ca.crt\n"
    << "  sudo install -D -m 0644 " << a.certFileName << " /etc/bulwark-vpn/" << n << "/" << a.certFileName << "\n"
    << "  sudo install -D -m 0600 " << a.keyFileName << " /etc/bulwark-vpn/" << n << "/" << a.keyFileName << "\n"
    << "  sudo install -m 0600 " << n << ".nmconnection /etc/NetworkManager/system-connections/\n"
    << "  sudo nmcli connection reload && nmcli connection up " << c.connName << "\n\n"
    << "Linux, swanctl\n--------------\n"
    << "  See the comment at the top of " << n << ".swanctl.conf.\n\n"
    << "Windows 10/11\n-------------\n"
    << "  In an elevated PowerShell, in this directory:\n"
    << "    powershell -ExecutionPolicy Bypass -File .\\" << n << ".ps1\n"
    << "  It imports ca.crt (Trusted Root) and " << n << ".p12 (Local Machine, asks for the password),\n"
    << "  creates the IKEv2 connection \"" << c.connName << "\" with machine-certificate\n"
    << "  authentication and sets its IPsec algorithms to one of the gateway's proposals. Windows\n"
    << "  checks that the gateway's certificate names the address it connects to (" << c.address << ").\n";
  return o.str();
}

}  // namespace bulwark::vpn::detail
