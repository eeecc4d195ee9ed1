#pragma once
// The gateway's credentials for charon, read from the PKI directory (`bulwarkctl pki`): the CA
// certificate, the gateway's certificate and private key, and the CRL once one was issued.
// bulwarkctl (vpn apply/plan, with per-file overrides) and bulwarkd (the VPN kind) read them here.
#include <filesystem>
#include <string>

#include "bulwark/vpn/charon_config.h"
#include "bulwark/vpn/vici_error.h"

namespace bulwark::vpn {

struct CredentialFiles {
  std::filesystem::path ca, cert, key, crl;
};

// The files of a PKI directory (pki.h's layout).
[[nodiscard]] CredentialFiles credentialFiles(const std::filesystem::path& pkiDir);

// A CA, certificate or key that cannot be read is an error (Config, "cannot read FILE: why",
// errno kept); a missing or empty CRL is none.
[[nodiscard]] ViciResult<Credentials> loadCredentials(const CredentialFiles& files);

}  // namespace bulwark::vpn
