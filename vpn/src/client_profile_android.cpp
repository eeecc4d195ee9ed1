// <name>.sswan: the strongSwan VPN Client for Android's profile format (JSON), with the
// PKCS#12 and the CA inside; the app asks for the PKCS#12 password on import.
#include <nlohmann/json.hpp>

#include "client_profile_texts.h"

namespace bulwark::vpn::detail {

std::string androidSswan(const ProfileContext& c) {
  const pki::BundleInput& a = c.admin;
  // The app takes one proposal string per SA: the gateway's first, as charon has it.
  nlohmann::json j = {
      {"uuid", randomUuid()},
      {"name", c.connName},
      {"type", "ikev2-cert"},
      {"remote", {{"addr", c.address}, {"id", c.params.gatewayId}, {"cert", pemToBase64Der(a.caPem)}}},
      {"local", {{"id", a.identity}, {"p12", base64(a.p12)}}},
      {"ike-proposal", c.params.proposals.ike.empty() ? std::string() : c.params.proposals.ike.front()},
      {"esp-proposal", c.params.proposals.esp.empty() ? std::string() : c.params.proposals.esp.front()},
  };
  return j.dump(2) + "\n";
}

}  // namespace bulwark::vpn::detail
