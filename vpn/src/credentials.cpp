#include "bulwark/vpn/credentials.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "bulwark/pki/pki.h"

namespace bulwark::vpn {
namespace {

bool readFile(const std::filesystem::path& p, std::string& out) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

}  // namespace

CredentialFiles credentialFiles(const std::filesystem::path& dir) {
  return {pki::caCertPath(dir), pki::gatewayCertPath(dir), pki::gatewayKeyPath(dir), pki::crlPath(dir)};
}

ViciResult<Credentials> loadCredentials(const CredentialFiles& files) {
  Credentials creds;
  for (const auto& [file, out] : {std::pair{&files.ca, &creds.caCert}, std::pair{&files.cert, &creds.gatewayCert},
                                  std::pair{&files.key, &creds.gatewayKey}}) {
    if (!readFile(*file, *out)) {
      const int err = errno;
      return ViciError{ViciErrorKind::Config, "cannot read " + file->string() + ": " + std::strerror(err), err, {}};
    }
  }
  std::string crl;
  if (readFile(files.crl, crl) && !crl.empty()) creds.crl = std::move(crl);
  return creds;
}

}  // namespace bulwark::vpn
