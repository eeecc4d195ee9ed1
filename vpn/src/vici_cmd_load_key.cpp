// load-key: a private key. The key bytes never appear in errors or logs.
#include "vici_success_verbs.h"

namespace bulwark::vpn::vici {

std::string keyTypeOfPem(std::string_view pem) {
  if (pem.find("BEGIN EC PRIVATE KEY") != std::string_view::npos) {
    return "ecdsa";
  }
  if (pem.find("BEGIN RSA PRIVATE KEY") != std::string_view::npos) {
    return "rsa";
  }
  return "any";  // PKCS#8 ("BEGIN PRIVATE KEY") or DER: charon detects the algorithm
}

ViciStatus loadKey(ViciClient& c, std::string_view keyType, std::string_view data) {
  Message req;
  req.add("type", std::string(keyType));
  req.add("data", std::string(data));
  return callForSuccess(c, "load-key", req, "load-key");
}

}  // namespace bulwark::vpn::vici
