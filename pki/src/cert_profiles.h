#pragma once
// What each kind of certificate the CA signs looks like, as data: init(), issueGateway() and
// issue() differ only in the row they pick and the files they write (issuance.h mints any
// row). Another kind (e.g. a node certificate for an HA pair: serverAuth + clientAuth, SAN of
// its address) is one more row.
#include <string_view>

#include "bulwark/pki/pki.h"

namespace bulwark::pki::detail {

enum class SubjectShape {
  Name,          // CN=<name>
  NameAndGroup,  // CN=<name>, OU=<group> (in this order: charon's DN matching is strict)
};

enum class SanShape {
  None,
  DnsOrIp,           // DNS:<name>, or IP:<name> for an address
  EmailNameAtGroup,  // email:<name>@<group> (informational, see pki.h)
};

struct CertProfile {
  std::string_view kind;          // index.json "kind"
  bool ca = false;                // basicConstraints CA:TRUE, self-signed; else CA:FALSE + AKI
  std::string_view keyUsage;      // always critical
  std::string_view extKeyUsage;   // empty: none
  int validityDays = 0;           // the default; issue() takes the caller's
  SubjectShape subject = SubjectShape::Name;
  SanShape san = SanShape::None;
};

inline constexpr CertProfile kCaProfile{
    "ca", true, "keyCertSign,cRLSign", "", kCaValidityDays, SubjectShape::Name, SanShape::None};
// EKU serverAuth for the control API's TLS, ipsecIKE (1.3.6.1.5.5.7.3.17) for IKEv2 clients
// that want it (Windows, macOS).
inline constexpr CertProfile kGatewayProfile{"gateway",      false, "digitalSignature", "serverAuth,1.3.6.1.5.5.7.3.17",
                                             kGatewayValidityDays, SubjectShape::Name, SanShape::DnsOrIp};
inline constexpr CertProfile kAdminProfile{"admin",           false, "digitalSignature", "clientAuth",
                                           kAdminValidityDays, SubjectShape::NameAndGroup,
                                           SanShape::EmailNameAtGroup};

}  // namespace bulwark::pki::detail
