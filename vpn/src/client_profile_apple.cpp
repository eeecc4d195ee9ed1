// <name>.mobileconfig: an Apple configuration profile (macOS, iOS) with three payloads: the
// CA (com.apple.security.root), the admin's PKCS#12 (com.apple.security.pkcs12; no password:
// the device asks on install) and the IKEv2 VPN (com.apple.vpn.managed) that authenticates
// with that certificate. Apple takes one algorithm set per SA: the first gateway proposal it
// can express.
#include <sstream>

#include "client_profile_texts.h"

namespace bulwark::vpn::detail {

namespace {

const std::vector<std::pair<std::string_view, std::string_view>> kAppleDh = {
    {"x25519", "31"},   {"curve25519", "31"}, {"ecp256", "19"},   {"ecp384", "20"},
    {"ecp521", "21"},   {"modp2048", "14"},   {"modp3072", "15"}, {"modp4096", "16"}};

const Vocabulary kApple{
    {{"aes256gcm16", "AES-256-GCM"}, {"aes128gcm16", "AES-128-GCM"}, {"chacha20poly1305", "ChaCha20Poly1305"},
     {"aes256", "AES-256"}, {"aes128", "AES-128"}},
    {{"prfsha384", "SHA2-384"}, {"prfsha256", "SHA2-256"}, {"prfsha512", "SHA2-512"}, {"sha384", "SHA2-384"},
     {"sha256", "SHA2-256"}, {"sha512", "SHA2-512"}, {"sha1", "SHA1-160"}},
    kAppleDh,
    // AEAD ciphers ignore the integrity algorithm; Apple still wants one.
    {{"aes256gcm16", "SHA2-256"}, {"aes128gcm16", "SHA2-256"}, {"chacha20poly1305", "SHA2-256"},
     {"sha256", "SHA2-256"}, {"sha384", "SHA2-384"}, {"sha512", "SHA2-512"}, {"sha1", "SHA1-160"}},
    kAppleDh,
    "none"};

std::string xml(std::string_view s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += ch;
    }
  }
  return out;
}

// A plist writer just big enough for a configuration profile.
class Plist {
 public:
  void key(std::string_view k) { line("<key>" + xml(k) + "</key>"); }
  void string(std::string_view k, std::string_view v) { key(k), line("<string>" + xml(v) + "</string>"); }
  void integer(std::string_view k, std::string_view v) { key(k), line("<integer>" + std::string(v) + "</integer>"); }
  void data(std::string_view k, const std::string& base64) {
    key(k);
    line("<data>");
    for (std::size_t i = 0; i < base64.size(); i += 64) line(base64.substr(i, 64));
    line("</data>");
  }
  void open(std::string_view tag) { line("<" + std::string(tag) + ">"), ++depth_; }
  void close(std::string_view tag) { --depth_, line("</" + std::string(tag) + ">"); }
  [[nodiscard]] std::string str() const { return out_.str(); }

 private:
  void line(std::string_view s) { out_ << std::string(static_cast<std::size_t>(depth_) * 2, ' ') << s << '\n'; }
  std::ostringstream out_;
  int depth_ = 0;
};

void payloadHeader(Plist& p, std::string_view type, const std::string& id, const std::string& uuid,
                   std::string_view displayName) {
  p.string("PayloadType", type);
  p.integer("PayloadVersion", "1");
  p.string("PayloadIdentifier", id);
  p.string("PayloadUUID", uuid);
  p.string("PayloadDisplayName", displayName);
}

void saParameters(Plist& p, std::string_view key, const std::string& enc, const std::string& integ,
                  const std::string& dh) {
  p.key(key);
  p.open("dict");
  p.string("EncryptionAlgorithm", enc);
  p.string("IntegrityAlgorithm", integ);
  p.integer("DiffieHellmanGroup", dh);
  p.integer("LifeTimeInMinutes", "1440");
  p.close("dict");
}

std::string mobileconfig(const ProfileContext& c, const OneIke& ike, const OneEsp& esp) {
  const pki::BundleInput& a = c.admin;
  const std::string base = "org.bulwark.vpn." + a.name;
  const std::string caUuid = randomUuid(), p12Uuid = randomUuid(), vpnUuid = randomUuid();
  Plist p;
  p.open("dict");
  p.key("PayloadContent");
  p.open("array");

  p.open("dict");
  payloadHeader(p, "com.apple.security.root", base + ".ca", caUuid, a.caName);
  p.string("PayloadCertificateFileName", "ca.crt");
  p.data("PayloadContent", pemToBase64Der(a.caPem));
  p.close("dict");

  p.open("dict");
  payloadHeader(p, "com.apple.security.pkcs12", base + ".identity", p12Uuid, a.identity);
  p.string("PayloadCertificateFileName", a.p12FileName);
  p.data("PayloadContent", base64(a.p12));
  p.close("dict");

  p.open("dict");
  payloadHeader(p, "com.apple.vpn.managed", base + ".vpn", vpnUuid, c.connName);
  p.string("UserDefinedName", c.connName);
  p.string("VPNType", "IKEv2");
  p.key("IKEv2");
  p.open("dict");
  p.string("RemoteAddress", c.address);
  p.string("RemoteIdentifier", c.params.gatewayId);
  p.string("LocalIdentifier", a.identity);
  p.string("AuthenticationMethod", "Certificate");
  p.string("CertificateType", "ECDSA256");
  p.string("PayloadCertificateUUID", p12Uuid);
  // Makes the device send a certificate request, so the gateway sends its certificate.
  p.string("ServerCertificateIssuerCommonName", a.caName);
  p.string("ServerCertificateCommonName", c.params.gatewayId);
  p.integer("ExtendedAuthEnabled", "0");
  p.integer("DisableMOBIKE", "0");
  p.integer("DisableRedirect", "0");
  p.integer("EnablePFS", esp.dh == "none" ? "0" : "1");
  p.string("DeadPeerDetectionRate", "Medium");
  saParameters(p, "IKESecurityAssociationParameters", ike.encryption, ike.integrity, ike.dh);
  saParameters(p, "ChildSecurityAssociationParameters", esp.encryption, esp.integrity,
               esp.dh == "none" ? ike.dh : esp.dh);
  p.close("dict");
  p.close("dict");

  p.close("array");
  payloadHeader(p, "Configuration", base, randomUuid(), "Bulwark admin VPN (" + a.name + ")");
  p.string("PayloadDescription", "IKEv2 access to " + c.address + " as " + a.identity + " (proposals " +
                                     ike.proposal + " / " + esp.proposal + ")");
  p.close("dict");
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
         "<plist version=\"1.0\">\n" +
         p.str() + "</plist>\n";
}

}  // namespace

std::optional<std::string> appleMobileconfig(const ProfileContext& c) { return oneSetProfile(c, kApple, mobileconfig); }

}  // namespace bulwark::vpn::detail
