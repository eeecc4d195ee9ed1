// The admins' client profiles (client_profiles.h), issued through the real PKI with the
// proposals of the charon config the gateway would load (charonConfigFromPolicy), then parsed
// by check_client_profiles.py with the formats' own readers (plistlib, json, configparser)
// and compared against those proposals.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "bulwark/pki/pki.h"
#include "bulwark/policies/loader.h"
#include "bulwark/vpn/charon_config.h"
#include "bulwark/vpn/client_profiles.h"

namespace bulwark::vpn {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/bulwark-profiles-test-XXXXXX";
    EXPECT_NE(::mkdtemp(tmpl), nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path path;
};

// What the gateway's charon is given for the first group: its load-conn's proposals.
Proposals charonProposals(const policies::Policy& policy) {
  Credentials creds{"ca", "gw", "key", std::nullopt};
  auto r = charonConfigFromPolicy(policy, creds);
  EXPECT_TRUE(r.ok());
  if (!r.ok() || r.config.conns.empty()) return {};
  const ConnSpec& c = r.config.conns.front();
  const Section* child = c.vici.section("children")->section(c.childName);
  return Proposals{c.vici.items("proposals"), child ? child->items("esp_proposals") : std::vector<std::string>{}};
}

// Issues alice's bundle with the policy's profiles and runs the format checker on it.
int issueAndCheck(const std::string& policyText, const std::string& expectMissing, std::string& output) {
  TempDir tmp;
  const fs::path policyFile = tmp.path / "policy.yaml";
  { std::ofstream(policyFile) << policyText; }
  auto loaded = policies::loadAndValidate(policyFile.string());
  EXPECT_TRUE(loaded.ok());
  const policies::Vpn& vpn = *loaded.policy.vpn;
  const Proposals gateway = charonProposals(loaded.policy);
  EXPECT_FALSE(gateway.ike.empty());

  const fs::path pkiDir = tmp.path / "pki";
  EXPECT_TRUE(pki::init(pkiDir, vpn.caName));
  EXPECT_TRUE(pki::issueGateway(pkiDir, vpn.localId));
  ClientProfileParams params{vpn.localId, "", gatewayProposals(vpn)};
  pki::IssueOptions opts;
  opts.outDir = tmp.path / "alice";
  opts.bundle = [&](const pki::BundleInput& in) { return clientProfiles(params, in); };
  auto alice = pki::issue(pkiDir, "alice", vpn.groups.front().name, opts);
  EXPECT_TRUE(alice) << (alice ? "" : alice.error().message);
  if (!alice) return -1;

  nlohmann::json expect = {{"ike", gateway.ike},
                           {"esp", gateway.esp},
                           {"gateway_id", vpn.localId},
                           {"identity", alice->identity},
                           {"ca_name", vpn.caName},
                           {"name", "alice"},
                           {"missing", expectMissing}};
  { std::ofstream(tmp.path / "expect.json") << expect.dump(2); }
  const std::string cmd = "python3 " + std::string(BULWARK_TESTS_DIR) + "/vpn/check_client_profiles.py " +
                          opts.outDir.string() + " " + (tmp.path / "expect.json").string() + " 2>&1";
  output.clear();
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) output.append(buf, n);
  const int status = ::pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string campusText() {
  std::ifstream in(std::string(BULWARK_EXAMPLES_DIR) + "/campus.yaml");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// With the policy's default proposals: every profile, each matching the gateway.
TEST(ClientProfiles, EveryFormatParsesAndCarriesTheGatewaysProposals) {
  std::string out;
  EXPECT_EQ(issueAndCheck(campusText(), "", out), 0) << out;
  EXPECT_NE(out.find("mobileconfig ok"), std::string::npos) << out;
  EXPECT_NE(out.find("ps1 ok"), std::string::npos) << out;
}

// With proposals of the policy's own: the profiles follow them; a client that cannot express
// any of them (Windows has no X25519, no ChaCha20) gets no profile rather than a wrong one.
TEST(ClientProfiles, PolicyProposalsAreFollowedAndInexpressibleOnesLeaveThatClientOut) {
  std::string text = campusText();
  const std::string anchor = "  local_id: ";
  const auto at = text.find(anchor);
  ASSERT_NE(at, std::string::npos);
  text.insert(at, "  ike_proposals: [chacha20poly1305-prfsha256-x25519, aes128gcm16-prfsha256-ecp384]\n"
                  "  esp_proposals: [chacha20poly1305-x25519]\n");
  std::string out;
  EXPECT_EQ(issueAndCheck(text, "windows", out), 0) << out;
  EXPECT_NE(out.find("mobileconfig ok"), std::string::npos) << out;
}

}  // namespace
}  // namespace bulwark::vpn
