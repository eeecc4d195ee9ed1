// <name>.ps1: Windows 10/11 set-up in PowerShell: the CA into the machine's Trusted Root
// store, the PKCS#12 into the machine's store (password asked), the IKEv2 connection with
// machine-certificate authentication (Windows then sends the certificate's subject DN as its
// identity, what the gateway matches), and Set-VpnConnectionIPsecConfiguration with the
// first gateway proposal Windows can express (Windows has no X25519).
#include <sstream>

#include "client_profile_texts.h"

namespace bulwark::vpn::detail {

namespace {

const Vocabulary kWindows{
    {{"aes256gcm16", "GCMAES256"}, {"aes128gcm16", "GCMAES128"}, {"aes256", "AES256"}, {"aes128", "AES128"}},
    {{"prfsha384", "SHA384"}, {"prfsha256", "SHA256"}, {"sha384", "SHA384"}, {"sha256", "SHA256"}, {"sha1", "SHA1"}},
    {{"ecp256", "ECP256"}, {"ecp384", "ECP384"}, {"modp2048", "Group14"}, {"modp1024", "Group2"}},
    {{"aes256gcm16", "GCMAES256"}, {"aes128gcm16", "GCMAES128"}, {"sha256", "SHA256128"}, {"sha1", "SHA196"}},
    {{"ecp256", "ECP256"}, {"ecp384", "ECP384"}, {"modp2048", "PFS2048"}, {"modp1024", "PFS2"}},
    "None"};

// A PowerShell single-quoted string.
std::string psQuote(std::string_view s) {
  std::string out = "'";
  for (char ch : s) {
    out += ch;
    if (ch == '\'') out += '\'';
  }
  return out + "'";
}

std::string script(const ProfileContext& c, const OneIke& ike, const OneEsp& esp) {
  const pki::BundleInput& a = c.admin;
  std::ostringstream o;
  o << "# Bulwark admin VPN for " << a.name << " (group " << a.group << ") on Windows 10/11.\n"
    << "# Imports ca.crt and " << a.p12FileName << ", creates the IKEv2 connection " << c.connName << "\n"
    << "# and sets the gateway's proposals " << ike.proposal << " (IKE) / " << esp.proposal << " (ESP).\n"
    << "# Run in an elevated PowerShell in this directory:\n"
    << "#   powershell -ExecutionPolicy Bypass -File .\\" << a.name << ".ps1\n"
    << "#Requires -RunAsAdministrator\n"
    << "[CmdletBinding()]\n"
    << "param([string]$BundleDir = $PSScriptRoot)\n"
    << "$ErrorActionPreference = 'Stop'\n"
    << "$Name = " << psQuote(c.connName) << "\n\n"
    << "Import-Certificate -FilePath (Join-Path $BundleDir 'ca.crt') "
    << "-CertStoreLocation 'Cert:\\LocalMachine\\Root' | Out-Null\n"
    << "$Password = Read-Host -AsSecureString -Prompt " << psQuote("PKCS#12 password for " + a.p12FileName) << "\n"
    << "Import-PfxCertificate -FilePath (Join-Path $BundleDir " << psQuote(a.p12FileName)
    << ") -CertStoreLocation 'Cert:\\LocalMachine\\My' -Password $Password | Out-Null\n\n"
    << "if (Get-VpnConnection -Name $Name -AllUserConnection -ErrorAction SilentlyContinue) {\n"
    << "  Remove-VpnConnection -Name $Name -AllUserConnection -Force\n"
    << "}\n"
    << "Add-VpnConnection -Name $Name -ServerAddress " << psQuote(c.address)
    << " -TunnelType Ikev2 -AuthenticationMethod MachineCertificate -EncryptionLevel Required -AllUserConnection\n"
    << "Set-VpnConnectionIPsecConfiguration -ConnectionName $Name -AllUserConnection -Force `\n"
    << "  -EncryptionMethod " << ike.encryption << " -IntegrityCheckMethod " << ike.integrity << " -DHGroup "
    << ike.dh << " `\n"
    << "  -CipherTransformConstants " << esp.encryption << " -AuthenticationTransformConstants " << esp.integrity
    << " -PfsGroup " << esp.dh << "\n\n"
    << "Write-Host \"VPN connection $Name created: connect with 'rasdial $Name' or in Settings -> Network -> VPN.\"\n";
  return o.str();
}

}  // namespace

std::optional<std::string> windowsScript(const ProfileContext& c) { return oneSetProfile(c, kWindows, script); }

}  // namespace bulwark::vpn::detail
