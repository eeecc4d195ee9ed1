#pragma once
// The IKE and ESP proposals the gateway's charon offers: one definition for the gateway's
// connections (charon_config) and for every client profile (client_profiles), so a client is
// never configured with something the gateway does not accept.
#include <string>
#include <vector>

#include "bulwark/policies/model.h"

namespace bulwark::vpn {

// AES-GCM-256 with PRF SHA-384, X25519 or ECP-256; ESP AES-GCM-256 with the same DH groups
// for PFS on rekeying (and without, for clients that do not rekey with DH).
inline const std::vector<std::string> kDefaultIkeProposals = {"aes256gcm16-prfsha384-x25519",
                                                              "aes256gcm16-prfsha384-ecp256"};
inline const std::vector<std::string> kDefaultEspProposals = {"aes256gcm16-x25519", "aes256gcm16-ecp256",
                                                              "aes256gcm16"};

struct Proposals {
  std::vector<std::string> ike;
  std::vector<std::string> esp;
};

// The policy's vpn.ike_proposals / vpn.esp_proposals, each defaulting to the lists above.
[[nodiscard]] Proposals gatewayProposals(const policies::Vpn& vpn);
// Without a policy: the defaults.
[[nodiscard]] Proposals defaultProposals();

}  // namespace bulwark::vpn
