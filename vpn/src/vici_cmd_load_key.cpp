// load-key: a private key. The key bytes never appear in errors or logs.
#include "bulwark/vpn/vici_commands.h"

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
  auto r = c.call("load-key", req);
  if (!r) {
    return r.error();
  }
  return checkSuccess(*r, "load-key");
}

}  // namespace bulwark::vpn::vici
