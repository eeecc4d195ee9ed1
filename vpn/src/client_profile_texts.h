#pragma once
// The client profile writers (one file per client kind) and what they share.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/vpn/client_profiles.h"

namespace bulwark::vpn::detail {

struct ProfileContext {
  const ClientProfileParams& params;
  const pki::BundleInput& admin;
  std::string address;  // params.gatewayAddress, or the gateway id
  std::string connName;  // "bulwark-<name>"
};

std::string swanctlProfile(const ProfileContext& c);
std::string readmeText(const ProfileContext& c, const std::vector<std::string>& missing);
// std::nullopt: none of the gateway's proposals can be expressed by that client.
std::optional<std::string> appleMobileconfig(const ProfileContext& c);
std::string androidSswan(const ProfileContext& c);
std::string networkManagerKeyfile(const ProfileContext& c);
std::optional<std::string> windowsScript(const ProfileContext& c);

std::string join(const std::vector<std::string>& v, const char* sep);
std::string base64(std::string_view bytes);
std::string pemToBase64Der(const std::string& pem);  // the PEM body, on one line
std::string randomUuid();                             // RFC 4122 version 4, upper case

// A strongSwan proposal ("aes256gcm16-prfsha384-x25519-ecp256") split into its algorithms.
struct ProposalParts {
  std::vector<std::string> encryption;  // aes256gcm16, aes256, chacha20poly1305, ...
  std::vector<std::string> integrity;   // sha256, sha384, ...
  std::vector<std::string> prf;         // prfsha384, ...
  std::vector<std::string> dh;          // x25519, ecp256, modp2048, ...
};
ProposalParts splitProposal(const std::string& proposal);

// What a client that takes one set of algorithms uses, each value in the client's own
// vocabulary, picked from one gateway proposal (so charon accepts it).
struct OneIke {
  std::string proposal;  // the gateway proposal it was taken from
  std::string encryption, integrity, dh;
};
struct OneEsp {
  std::string proposal;
  std::string encryption, integrity, dh;  // dh empty: the proposal has no PFS group
};
struct Vocabulary {
  // strongSwan token → the client's name; a token missing from a map is not supported.
  std::vector<std::pair<std::string_view, std::string_view>> encryption, integrity, dh;
  std::vector<std::pair<std::string_view, std::string_view>> espIntegrity;  // ESP; AEAD: by cipher
  std::vector<std::pair<std::string_view, std::string_view>> espDh;         // ESP's PFS group
  std::string_view noDh;  // the client's value for "no PFS group" in ESP
};
std::optional<OneIke> pickIke(const std::vector<std::string>& gateway, const Vocabulary& v);
std::optional<OneEsp> pickEsp(const std::vector<std::string>& gateway, const Vocabulary& v);
// A profile for a client that takes one set of algorithms per SA (Apple, Windows): `write`
// given the first IKE and ESP sets the client's vocabulary can express, std::nullopt when
// the gateway has none.
using OneSetWriter = std::string (*)(const ProfileContext& c, const OneIke& ike, const OneEsp& esp);
std::optional<std::string> oneSetProfile(const ProfileContext& c, const Vocabulary& v, OneSetWriter write);

}  // namespace bulwark::vpn::detail
