// The admin's client profile: a swanctl.conf snippet and import notes for
// NetworkManager-strongswan and the strongSwan Android app; the PKCS#12 password generator.
#include <openssl/rand.h>

#include <sstream>

#include "pki_internal.h"

namespace bulwark::vpn::pki::detail {

namespace {

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) {
    out += (out.empty() ? "" : sep) + s;
  }
  return out;
}

}  // namespace

std::string swanctlProfile(const ProfileParams& p) {
  std::ostringstream o;
  o << "# Bulwark admin VPN profile for " << p.name << " (group " << p.group << ").\n"
    << "# Install: " << p.name << ".crt -> /etc/swanctl/x509/, " << p.name
    << ".key -> /etc/swanctl/private/ (mode 0600),\n"
    << "#          ca.crt -> /etc/swanctl/x509ca/bulwark-ca.crt; then `swanctl --load-all`\n"
    << "#          and `swanctl --initiate --child bulwark`.\n"
    << "connections {\n"
    << "  bulwark-" << p.name << " {\n"
    << "    version = 2\n"
    << "    remote_addrs = " << p.gatewayAddress << "\n"
    << "    vips = 0.0.0.0\n"
    << "    proposals = " << join(p.ikeProposals, ", ") << "\n"
    << "    local {\n"
    << "      auth = pubkey\n"
    << "      certs = " << p.name << ".crt\n"
    << "      id = \"" << p.identity << "\"\n"
    << "    }\n"
    << "    remote {\n"
    << "      auth = pubkey\n"
    << "      id = " << p.gatewayId << "\n"
    << "      cacerts = bulwark-ca.crt\n"
    << "    }\n"
    << "    children {\n"
    << "      bulwark {\n"
    << "        remote_ts = 0.0.0.0/0  # the gateway narrows this to what the group may reach\n"
    << "        esp_proposals = " << join(p.espProposals, ", ") << "\n"
    << "        start_action = none\n"
    << "      }\n"
    << "    }\n"
    << "  }\n"
    << "}\n";
  return o.str();
}

std::string readmeText(const ProfileParams& p) {
  std::ostringstream o;
  o << "Bulwark admin VPN access for " << p.name << " (group " << p.group << ")\n"
    << "==============================================================\n\n"
    << "Gateway:           " << p.gatewayAddress << "\n"
    << "Gateway identity:  " << p.gatewayId << "\n"
    << "Your identity:     " << p.identity << "  (the certificate's subject; keep it)\n"
    << "IKE proposal:      " << join(p.ikeProposals, ", ") << "\n"
    << "ESP proposal:      " << join(p.espProposals, ", ") << "\n\n"
    << "Files\n-----\n"
    << "  " << p.name << ".p12            key + certificate + CA certificate (PKCS#12), protected by the\n"
    << "                      password shown once when it was issued\n"
    << "  " << p.name << ".key            your private key (PEM, unencrypted: keep it 0600, never share it)\n"
    << "  " << p.name << ".crt            your certificate\n"
    << "  ca.crt              the Bulwark admin CA (authenticates the gateway)\n"
    << "  " << p.name << ".swanctl.conf   connection for strongSwan's swanctl (Linux, charon-systemd)\n\n"
    << "Delete this bundle from shared storage once it is installed on your device.\n\n"
    << "NetworkManager (network-manager-strongswan)\n"
    << "-------------------------------------------\n"
    << "GUI: Add VPN -> \"IPsec/IKEv2 (strongswan)\".\n"
    << "  Server address: " << p.gatewayAddress << "; Certificate: ca.crt; Identity: " << p.gatewayId << "\n"
    << "  Client: Authentication \"Certificate\", certificate " << p.name << ".crt, private key "
    << p.name << ".key\n"
    << "  Options: \"Request an inner IP address\" on.\n"
    << "  Cipher proposals: enable, IKE " << join(p.ikeProposals, ";") << ", ESP "
    << join(p.espProposals, ";") << "\n"
    << "Or with nmcli (absolute paths; the files must stay readable by NetworkManager):\n"
    << "  nmcli connection add type vpn vpn-type strongswan con-name bulwark-" << p.name << " \\\n"
    << "    vpn.data \"address=" << p.gatewayAddress << ", certificate=$PWD/ca.crt, method=key, "
    << "usercert=$PWD/" << p.name << ".crt, userkey=$PWD/" << p.name << ".key, remote-identity="
    << p.gatewayId << ", virtual=yes, proposal=yes, ike=" << join(p.ikeProposals, ";")
    << ", esp=" << join(p.espProposals, ";") << "\"\n\n"
    << "Android (strongSwan VPN Client app)\n"
    << "-----------------------------------\n"
    << "  1. Copy " << p.name << ".p12 to the device and import it: app menu -> \"CA certificates\"\n"
    << "     / \"Import certificate\", or Settings -> Security -> Install a certificate ->\n"
    << "     \"VPN & app user certificate\". Enter the PKCS#12 password.\n"
    << "  2. Add VPN profile: Server " << p.gatewayAddress << ", VPN Type \"IKEv2 Certificate\",\n"
    << "     User certificate: the imported one. CA certificate: untick \"Select automatically\"\n"
    << "     and choose the Bulwark admin CA (import ca.crt in the app if it is not listed).\n"
    << "  3. Advanced settings: Server identity " << p.gatewayId << "; IKEv2 algorithms\n"
    << "     " << join(p.ikeProposals, ",") << "; IPsec/ESP algorithms " << join(p.espProposals, ",")
    << ".\n"
    << "  If the device says the password is wrong although it is right, its keystore predates\n"
    << "  PKCS#12 with AES/PBKDF2 (OpenSSL 3's format); ask for a new bundle rather than\n"
    << "  re-encrypting it with legacy RC2/3DES.\n";
  return o.str();
}

PkiResult<std::string> generatePassword() {
  // 32 symbols (no l, o, 0, 1), so 256 % 32 == 0: no modulo bias. 20 symbols = 100 bits.
  static constexpr char kAlphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";
  static_assert(sizeof kAlphabet - 1 == 32);
  unsigned char bytes[20];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    return cryptoError("RAND_bytes");
  }
  std::string out;
  for (std::size_t i = 0; i < sizeof bytes; ++i) {
    if (i > 0 && i % 5 == 0) {
      out += '-';
    }
    out += kAlphabet[bytes[i] % 32];
  }
  OPENSSL_cleanse(bytes, sizeof bytes);
  return out;
}

}  // namespace bulwark::vpn::pki::detail
