// The admin's client profiles (client_profiles.h): which files, and what they share.
#include "bulwark/vpn/client_profiles.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdio>

#include "client_profile_texts.h"

namespace bulwark::vpn {

namespace detail {

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) {
    out += (out.empty() ? "" : sep) + s;
  }
  return out;
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  return out;
}

std::string pemToBase64Der(const std::string& pem) {
  std::string out;
  std::size_t pos = 0;
  while (pos < pem.size()) {
    std::size_t end = pem.find('\n', pos);
    if (end == std::string::npos) end = pem.size();
    std::string_view line(pem.data() + pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.rfind("-----", 0) != 0) out += line;
    pos = end + 1;
  }
  return out;
}

std::string randomUuid() {
  unsigned char b[16] = {};
  if (RAND_bytes(b, sizeof b) != 1) {
    // Only an identifier (payload UUIDs), not a secret: any value is usable.
    for (std::size_t i = 0; i < sizeof b; ++i) b[i] = static_cast<unsigned char>(i * 37 + 11);
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  char out[37];
  std::snprintf(out, sizeof out, "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

namespace {

bool startsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool isAead(std::string_view enc) {
  return enc.find("gcm") != std::string_view::npos || enc.find("ccm") != std::string_view::npos ||
         startsWith(enc, "chacha20poly1305");
}

std::string_view lookup(const std::vector<std::pair<std::string_view, std::string_view>>& map, std::string_view key) {
  for (const auto& [k, v] : map) {
    if (k == key) return v;
  }
  return {};
}

// The first token of `tokens` the map knows, as the client names it.
std::string firstKnown(const std::vector<std::string>& tokens,
                       const std::vector<std::pair<std::string_view, std::string_view>>& map) {
  for (const auto& t : tokens) {
    if (auto v = lookup(map, t); !v.empty()) return std::string(v);
  }
  return {};
}

}  // namespace

ProposalParts splitProposal(const std::string& proposal) {
  ProposalParts p;
  std::size_t pos = 0;
  while (pos <= proposal.size()) {
    std::size_t end = proposal.find('-', pos);
    if (end == std::string::npos) end = proposal.size();
    std::string t = proposal.substr(pos, end - pos);
    pos = end + 1;
    if (t.empty()) continue;
    if (startsWith(t, "prf")) {
      p.prf.push_back(t);
    } else if (startsWith(t, "modp") || startsWith(t, "ecp") || startsWith(t, "x25519") || startsWith(t, "x448") ||
               startsWith(t, "curve25519") || startsWith(t, "curve448")) {
      p.dh.push_back(t);
    } else if (startsWith(t, "sha") || startsWith(t, "md5") || startsWith(t, "aesxcbc") || startsWith(t, "aescmac")) {
      p.integrity.push_back(t);
    } else {
      p.encryption.push_back(t);
    }
  }
  return p;
}

std::optional<OneIke> pickIke(const std::vector<std::string>& gateway, const Vocabulary& v) {
  for (const auto& proposal : gateway) {
    const ProposalParts p = splitProposal(proposal);
    OneIke one{proposal, firstKnown(p.encryption, v.encryption),
               firstKnown(p.prf.empty() ? p.integrity : p.prf, v.integrity), firstKnown(p.dh, v.dh)};
    if (!one.encryption.empty() && !one.integrity.empty() && !one.dh.empty()) return one;
  }
  return std::nullopt;
}

std::optional<OneEsp> pickEsp(const std::vector<std::string>& gateway, const Vocabulary& v) {
  for (const auto& proposal : gateway) {
    const ProposalParts p = splitProposal(proposal);
    for (const auto& enc : p.encryption) {
      OneEsp one{proposal, std::string(lookup(v.encryption, enc)), {}, {}};
      if (one.encryption.empty()) continue;
      one.integrity = isAead(enc) ? std::string(lookup(v.espIntegrity, enc)) : firstKnown(p.integrity, v.espIntegrity);
      one.dh = p.dh.empty() ? std::string(v.noDh) : firstKnown(p.dh, v.espDh);
      if (!one.integrity.empty() && !one.dh.empty()) return one;
    }
  }
  return std::nullopt;
}

std::optional<std::string> oneSetProfile(const ProfileContext& c, const Vocabulary& v, OneSetWriter write) {
  const auto ike = pickIke(c.params.proposals.ike, v);
  const auto esp = pickEsp(c.params.proposals.esp, v);
  if (!ike || !esp) {
    return std::nullopt;
  }
  return write(c, *ike, *esp);
}

}  // namespace detail

std::vector<pki::BundleFile> clientProfiles(const ClientProfileParams& params, const pki::BundleInput& admin) {
  const std::string& address = params.gatewayAddress.empty() ? params.gatewayId : params.gatewayAddress;
  const detail::ProfileContext c{params, admin, address, "bulwark-" + admin.name};
  std::vector<pki::BundleFile> files;
  std::vector<std::string> missing;
  files.push_back({"swanctl", admin.name + ".swanctl.conf", detail::swanctlProfile(c), 0644});
  if (auto apple = detail::appleMobileconfig(c)) {
    // Holds the PKCS#12 (password-protected) like the .p12 itself: same mode.
    files.push_back({"mobileconfig", admin.name + ".mobileconfig", std::move(*apple), 0600});
  } else {
    missing.push_back("Apple (.mobileconfig)");
  }
  files.push_back({"sswan", admin.name + ".sswan", detail::androidSswan(c), 0600});
  // NetworkManager loads only keyfiles that are 0600 and owned by root.
  files.push_back({"networkmanager", admin.name + ".nmconnection", detail::networkManagerKeyfile(c), 0600});
  if (auto win = detail::windowsScript(c)) {
    files.push_back({"windows", admin.name + ".ps1", std::move(*win), 0644});
  } else {
    missing.push_back("Windows (.ps1)");
  }
  files.push_back({"readme", admin.name + ".README.txt", detail::readmeText(c, missing), 0644});
  return files;
}

}  // namespace bulwark::vpn
