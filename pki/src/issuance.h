#pragma once
// One certificate, minted the same way for every profile: key → serial (unique in the index)
// → subject → certificate (signed by the CA, or self-signed for the CA itself) → PEM and the
// index entry. Nothing is written here: the caller stages the files in a FileTransaction.
#include <string>

#include "cert_profiles.h"
#include "internal.h"

namespace bulwark::pki::detail {

struct Subject {
  std::string name;   // CN; also the SAN's DNS name/address for DnsOrIp
  std::string group;  // OU, for NameAndGroup
};

struct Issuer {
  X509* cert = nullptr;
  EVP_PKEY* key = nullptr;
};

struct Minted {
  PkeyPtr key;
  X509Ptr cert;
  std::string certPem;
  IndexEntry entry;  // name, group, the profile's kind, serial, validity
};

// issuer == nullptr: self-signed (the CA profile).
[[nodiscard]] PkiResult<Minted> mint(const CertProfile& profile, const Subject& subject, int validityDays,
                                     const Index& index, const Issuer* issuer);

// Loads and checks ca.crt + private/ca.key.
struct Ca {
  X509Ptr cert;
  PkeyPtr key;
  [[nodiscard]] Issuer issuer() const { return Issuer{cert.get(), key.get()}; }
};
[[nodiscard]] PkiResult<Ca> loadCa(const fs::path& dir);

bool isIpAddress(const std::string& s);

}  // namespace bulwark::pki::detail
