// The admin PKI against OpenSSL's own verifier (X509_STORE / X509_verify_cert), the
// `openssl` command as an independent witness, and bulwarkctl's output (no secrets).
#include <gtest/gtest.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bulwark/pki/pki.h"

namespace pki = bulwark::pki;
namespace fs = std::filesystem;

namespace {

template <auto Fn>
struct Free {
  template <typename T>
  void operator()(T* p) const {
    Fn(p);
  }
};
using X509Ptr = std::unique_ptr<X509, Free<X509_free>>;
using CrlPtr = std::unique_ptr<X509_CRL, Free<X509_CRL_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Free<X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Free<X509_STORE_CTX_free>>;
using P12Ptr = std::unique_ptr<PKCS12, Free<PKCS12_free>>;
using BioPtr = std::unique_ptr<BIO, Free<BIO_free_all>>;
inline void freeNames(GENERAL_NAMES* n) { GENERAL_NAMES_free(n); }
using NamesPtr = std::unique_ptr<GENERAL_NAMES, Free<freeNames>>;
inline void freeCerts(STACK_OF(X509)* s) { sk_X509_pop_free(s, X509_free); }
using CertsPtr = std::unique_ptr<STACK_OF(X509), Free<freeCerts>>;
inline void freeAsn1Int(ASN1_INTEGER* i) { ASN1_INTEGER_free(i); }
using Asn1IntPtr = std::unique_ptr<ASN1_INTEGER, Free<freeAsn1Int>>;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

X509Ptr readCert(const fs::path& p) {
  BioPtr bio(BIO_new_file(p.c_str(), "r"));
  return X509Ptr(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

CrlPtr readCrl(const fs::path& p) {
  BioPtr bio(BIO_new_file(p.c_str(), "r"));
  return CrlPtr(bio ? PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

// X509_verify_cert of `cert` against the single trust anchor `ca` (and `crl` if given).
int verify(X509* cert, X509* ca, X509_CRL* crl = nullptr) {
  StorePtr store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), ca);
  if (crl != nullptr) {
    X509_STORE_add_crl(store.get(), crl);
    X509_STORE_set_flags(store.get(), X509_V_FLAG_CRL_CHECK);
  }
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), cert, nullptr);
  if (X509_verify_cert(ctx.get()) == 1) {
    return X509_V_OK;
  }
  int err = X509_STORE_CTX_get_error(ctx.get());
  return err == X509_V_OK ? -1 : err;
}

std::string field(X509* cert, int nid) {
  X509_NAME* n = X509_get_subject_name(cert);
  int i = X509_NAME_get_index_by_NID(n, nid, -1);
  if (i < 0) {
    return {};
  }
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}

std::vector<std::string> sans(X509* cert, int type) {
  std::vector<std::string> out;
  NamesPtr names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names.get(), i);
    if (g->type != type) {
      continue;
    }
    const ASN1_STRING* s = type == GEN_IPADD ? g->d.iPAddress : g->d.ia5;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
  }
  return out;
}

bool hasEku(X509* cert, const char* oid) {
  auto* ekus = static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(cert, NID_ext_key_usage, nullptr, nullptr));
  bool found = false;
  for (int i = 0; ekus && i < sk_ASN1_OBJECT_num(ekus); ++i) {
    char buf[80];
    OBJ_obj2txt(buf, sizeof buf, sk_ASN1_OBJECT_value(ekus, i), 1);
    found = found || std::string(buf) == oid;
  }
  EXTENDED_KEY_USAGE_free(ekus);
  return found;
}

mode_t modeOf(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

struct CmdResult {
  int status = -1;
  std::string output;  // stdout and stderr
};

CmdResult runCmd(const std::string& cmd, const fs::path& scratch) {
  fs::path out = scratch / "cmd.out";
  int rc = std::system((cmd + " >" + out.string() + " 2>&1").c_str());
  CmdResult r;
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.output = slurp(out);
  fs::remove(out);
  return r;
}

bool haveOpenssl() { return std::system("openssl version >/dev/null 2>&1") == 0; }

class PkiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/bulwark-pki-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ / "pki";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  // private/ 0710 with the daemon's group, before initPki (as the package makes it).
  void privateForTheDaemonsGroup();
  // A CA, a gateway certificate and nothing else.
  void initPki(const fs::path& dir, const std::string& caName = "Bulwark Test Admin CA") {
    auto ca = pki::init(dir, caName);
    ASSERT_TRUE(ca) << ca.error().message;
    auto gw = pki::issueGateway(dir, "vpn.example.org");
    ASSERT_TRUE(gw) << gw.error().message;
  }
  pki::IssuedCert issue(const std::string& name, const std::string& group, const fs::path& dir = {}) {
    auto c = pki::issue(dir.empty() ? dir_ : dir, name, group);
    EXPECT_TRUE(c) << (c ? "" : c.error().message);
    return c ? *c : pki::IssuedCert{};
  }

  fs::path root_;
  fs::path dir_;
};

TEST_F(PkiTest, InitCreatesASelfSignedP256CaThatVerifiesItself) {
  auto ca = pki::init(dir_, "Bulwark Test Admin CA");
  ASSERT_TRUE(ca) << ca.error().message;
  EXPECT_EQ(ca->subject, "CN=Bulwark Test Admin CA");
  X509Ptr cert = readCert(pki::caCertPath(dir_));
  ASSERT_TRUE(cert);
  EVP_PKEY* pub = X509_get0_pubkey(cert.get());
  ASSERT_NE(pub, nullptr);
  EXPECT_EQ(X509_verify(cert.get(), pub), 1);
  EXPECT_EQ(verify(cert.get(), cert.get()), X509_V_OK);
  EXPECT_TRUE(EVP_PKEY_is_a(pub, "EC"));
  char group[64] = {};
  ASSERT_EQ(EVP_PKEY_get_utf8_string_param(pub, "group", group, sizeof group, nullptr), 1);
  EXPECT_STREQ(group, "prime256v1");
  EXPECT_EQ(X509_get_signature_nid(cert.get()), NID_ecdsa_with_SHA256);
  // basicConstraints CA:TRUE critical, keyUsage keyCertSign + cRLSign, SKI
  int crit = -1;
  auto* bc = static_cast<BASIC_CONSTRAINTS*>(X509_get_ext_d2i(cert.get(), NID_basic_constraints, &crit, nullptr));
  ASSERT_NE(bc, nullptr);
  EXPECT_TRUE(bc->ca);
  EXPECT_EQ(crit, 1);
  BASIC_CONSTRAINTS_free(bc);
  EXPECT_EQ(X509_get_key_usage(cert.get()) & (KU_KEY_CERT_SIGN | KU_CRL_SIGN), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
  EXPECT_NE(X509_get0_subject_key_id(cert.get()), nullptr);
  const std::int64_t years = (ca->notAfter - std::time(nullptr)) / (365 * 86400);
  EXPECT_GE(years, 9);
  EXPECT_LE(years, 10);
  // the key is 0600 in a 0700 directory inside a 0700 PKI directory
  EXPECT_EQ(modeOf(pki::caKeyPath(dir_)), 0600u);
  EXPECT_EQ(modeOf(pki::caKeyPath(dir_).parent_path()), 0700u);
  EXPECT_EQ(modeOf(dir_), 0700u);
  // an initial CRL exists and is signed by the CA
  CrlPtr crl = readCrl(pki::crlPath(dir_));
  ASSERT_TRUE(crl);
  EXPECT_EQ(X509_CRL_verify(crl.get(), pub), 1);
}

TEST_F(PkiTest, InitTwiceRefusesAndKeepsTheCa) {
  ASSERT_TRUE(pki::init(dir_, "First CA"));
  const std::string before = slurp(pki::caCertPath(dir_));
  const std::string keyBefore = slurp(pki::caKeyPath(dir_));
  auto again = pki::init(dir_, "Second CA");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, pki::PkiErrorKind::Conflict);
  EXPECT_EQ(slurp(pki::caCertPath(dir_)), before);
  EXPECT_EQ(slurp(pki::caKeyPath(dir_)), keyBefore);
}

TEST_F(PkiTest, IssuedAdminCertificateVerifiesAndCarriesNameGroupSanEku) {
  initPki(dir_);
  auto alice = issue("alice", "netops");
  X509Ptr ca = readCert(pki::caCertPath(dir_));
  X509Ptr cert = readCert(alice.certPath);
  ASSERT_TRUE(ca && cert);
  EXPECT_EQ(verify(cert.get(), ca.get()), X509_V_OK);
  EXPECT_EQ(field(cert.get(), NID_commonName), "alice");
  EXPECT_EQ(field(cert.get(), NID_organizationalUnitName), "netops");
  // Exactly CN then OU: the order charon's strict RDN matching of "CN=*, OU=netops" needs.
  X509_NAME* subject = X509_get_subject_name(cert.get());
  ASSERT_EQ(X509_NAME_entry_count(subject), 2);
  EXPECT_EQ(OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(subject, 0))), NID_commonName);
  EXPECT_EQ(OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(subject, 1))), NID_organizationalUnitName);
  EXPECT_EQ(alice.identity, "CN=alice, OU=netops");
  EXPECT_EQ(pki::groupRemoteId("netops"), "CN=*, OU=netops");
  EXPECT_EQ(sans(cert.get(), GEN_EMAIL), std::vector<std::string>{"alice@netops"});
  EXPECT_TRUE(hasEku(cert.get(), "1.3.6.1.5.5.7.3.2"));   // clientAuth
  EXPECT_FALSE(hasEku(cert.get(), "1.3.6.1.5.5.7.3.1"));  // not serverAuth
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
  EXPECT_EQ(X509_get_signature_nid(cert.get()), NID_ecdsa_with_SHA256);
  const std::int64_t days = (alice.notAfter - std::time(nullptr)) / 86400;
  EXPECT_GE(days, 364);
  EXPECT_LE(days, 365);
  // the key file belongs to the certificate
  BioPtr bio(BIO_new_file(alice.keyPath.c_str(), "r"));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ASSERT_TRUE(key);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
  // without a bundle function the bundle is the key material alone
  EXPECT_TRUE(alice.bundleFiles.empty());
  std::set<std::string> names;
  for (const auto& f : fs::directory_iterator(alice.keyPath.parent_path())) {
    names.insert(f.path().filename().string());
  }
  EXPECT_EQ(names, (std::set<std::string>{"alice.key", "alice.crt", "alice.p12", "ca.crt"}));
}

// The bundle function sees the admin's material and its files join the same transaction.
TEST_F(PkiTest, BundleFilesAreWrittenWithTheirModesFromTheAdminsMaterial) {
  initPki(dir_);
  pki::IssueOptions opts;
  opts.password = "a given password";
  std::string seenP12;
  opts.bundle = [&](const pki::BundleInput& in) {
    seenP12 = in.p12;
    EXPECT_EQ(in.identity, "CN=alice, OU=netops");
    EXPECT_EQ(in.caName, "Bulwark Test Admin CA");
    EXPECT_EQ(in.p12FileName, "alice.p12");
    EXPECT_NE(in.certPem.find("BEGIN CERTIFICATE"), std::string::npos);
    EXPECT_NE(in.caPem.find("BEGIN CERTIFICATE"), std::string::npos);
    return std::vector<pki::BundleFile>{{"one", "alice.one", "public\n", 0644}, {"two", "alice.two", "secret\n", 0600}};
  };
  auto alice = pki::issue(dir_, "alice", "netops", opts);
  ASSERT_TRUE(alice) << alice.error().message;
  ASSERT_EQ(alice->bundleFiles.size(), 2u);
  EXPECT_EQ(alice->bundleFiles[0].first, "one");
  EXPECT_EQ(alice->bundleFiles[1].second, alice->p12Path.parent_path() / "alice.two");
  EXPECT_EQ(slurp(alice->bundleFiles[0].second), "public\n");
  EXPECT_EQ(modeOf(alice->bundleFiles[0].second), 0644u);
  EXPECT_EQ(modeOf(alice->bundleFiles[1].second), 0600u);
  EXPECT_EQ(seenP12, slurp(alice->p12Path));
  EXPECT_EQ(seenP12.find("a given password"), std::string::npos);

  // a bundle file may not leave the bundle directory
  opts.outDir = root_ / "bob";
  opts.bundle = [](const pki::BundleInput&) { return std::vector<pki::BundleFile>{{"x", "../escape", "x", 0644}}; };
  auto bob = pki::issue(dir_, "bob", "netops", opts);
  ASSERT_FALSE(bob);
  EXPECT_EQ(bob.error().kind, pki::PkiErrorKind::Invalid);
  EXPECT_FALSE(fs::exists(root_ / "escape"));
  EXPECT_FALSE(fs::exists(root_ / "bob"));
}

// Every file of an issuance appears or none does: a step failing half-way (here: the CA's
// archive directory is not a directory, or a bundle file's name is taken) leaves no key, no
// certificate, no temporary file, no new directory and the index as it was.
TEST_F(PkiTest, AnIssuanceFailingHalfWayLeavesNothingBehind) {
  initPki(dir_);
  auto snapshot = [&] {
    std::set<std::string> all;
    for (const auto& f : fs::recursive_directory_iterator(root_)) {
      all.insert(f.path().string());
    }
    return all;
  };
  const std::string indexBefore = slurp(pki::indexPath(dir_));

  // the archive copy fails after the bundle's files were staged
  fs::remove_all(dir_ / "certs");
  { std::ofstream(dir_ / "certs") << "not a directory\n"; }
  const auto before = snapshot();
  auto alice = pki::issue(dir_, "alice", "netops");
  ASSERT_FALSE(alice);
  EXPECT_EQ(snapshot(), before);
  EXPECT_EQ(slurp(pki::indexPath(dir_)), indexBefore);
  fs::remove(dir_ / "certs");
  fs::create_directory(dir_ / "certs");

  // a bundle file's name is taken: found when the files move into place, after the key,
  // certificate and PKCS#12 already did
  const fs::path out = root_ / "bundle";
  fs::create_directories(out / "alice.zz");
  const auto before2 = snapshot();
  pki::IssueOptions opts;
  opts.outDir = out;
  opts.bundle = [](const pki::BundleInput&) { return std::vector<pki::BundleFile>{{"zz", "alice.zz", "x", 0644}}; };
  auto again = pki::issue(dir_, "alice", "netops", opts);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, pki::PkiErrorKind::Conflict);
  EXPECT_EQ(snapshot(), before2);
  EXPECT_EQ(slurp(pki::indexPath(dir_)), indexBefore);

  // and then it works
  fs::remove(out / "alice.zz");
  ASSERT_TRUE(pki::issue(dir_, "alice", "netops", opts));
}

// A CA's init that fails half-way (certs/ cannot be made) leaves nothing of itself behind.
TEST_F(PkiTest, AnInitFailingHalfWayLeavesNothingBehind) {
  fs::create_directories(dir_);
  { std::ofstream(dir_ / "certs") << "not a directory\n"; }
  auto refused = pki::init(dir_, "CA");
  ASSERT_FALSE(refused);
  std::set<std::string> left;
  for (const auto& f : fs::directory_iterator(dir_)) {
    left.insert(f.path().filename().string());
  }
  EXPECT_EQ(left, (std::set<std::string>{"certs", ".lock"}));  // no private/, no key, no index
  fs::remove(dir_ / "certs");
  ASSERT_TRUE(pki::init(dir_, "CA"));
}

TEST_F(PkiTest, SerialsAreUniqueAndListShowsEveryCertificate) {
  initPki(dir_);
  std::set<std::string> serials;
  for (int i = 0; i < 8; ++i) {
    auto c = issue("admin" + std::to_string(i), i % 2 ? "netops" : "dba");
    EXPECT_EQ(c.serial.size(), 32u);  // 128-bit serial, hex
    serials.insert(c.serial);
  }
  EXPECT_EQ(serials.size(), 8u);
  auto entries = pki::list(dir_);
  ASSERT_TRUE(entries) << entries.error().message;
  ASSERT_EQ(entries->size(), 9u);  // gateway + 8 admins
  EXPECT_EQ((*entries)[0].kind, "gateway");
  EXPECT_EQ((*entries)[0].name, "vpn.example.org");
  EXPECT_EQ((*entries)[1].name, "admin0");
  EXPECT_EQ((*entries)[1].group, "dba");
  EXPECT_FALSE((*entries)[1].revoked);
  EXPECT_GT((*entries)[1].notAfter, std::time(nullptr));
}

TEST_F(PkiTest, IssueRefusesDuplicatesBadNamesAndMissingGateway) {
  ASSERT_TRUE(pki::init(dir_, "CA"));
  auto noGw = pki::activeGatewayId(dir_);
  ASSERT_FALSE(noGw);
  EXPECT_EQ(noGw.error().kind, pki::PkiErrorKind::NotFound);
  ASSERT_TRUE(pki::issueGateway(dir_, "192.0.2.1"));
  auto gwId = pki::activeGatewayId(dir_);
  ASSERT_TRUE(gwId);
  EXPECT_EQ(*gwId, "192.0.2.1");
  issue("alice", "netops");
  auto dup = pki::issue(dir_, "alice", "dba");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().kind, pki::PkiErrorKind::Conflict);
  for (const char* bad : {"", "../x", "a b", "CN=x", "a,OU=y", "-a", "x*"}) {
    auto r = pki::issue(dir_, bad, "netops");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, pki::PkiErrorKind::Invalid) << bad;
    auto g = pki::issue(dir_, "bob", bad);
    ASSERT_FALSE(g) << bad;
    EXPECT_EQ(g.error().kind, pki::PkiErrorKind::Invalid) << bad;
  }
  auto none = pki::issue(root_ / "nothing", "alice", "netops");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().kind, pki::PkiErrorKind::NotFound);
}

TEST_F(PkiTest, KeyFilesAre0600FromCreation) {
  initPki(dir_);
  auto alice = issue("alice", "netops");
  EXPECT_EQ(modeOf(alice.keyPath), 0600u);
  EXPECT_EQ(modeOf(alice.p12Path), 0600u);
  EXPECT_EQ(modeOf(alice.keyPath.parent_path()), 0700u);
  EXPECT_EQ(modeOf(pki::gatewayKeyPath(dir_)), 0600u);
  EXPECT_EQ(modeOf(pki::caKeyPath(dir_)), 0600u);
  EXPECT_EQ(modeOf(pki::caKeyPath(dir_).parent_path()), 0700u);
  // an existing key is never overwritten: a second bundle into the same directory fails
  ASSERT_TRUE(pki::revoke(dir_, "alice"));
  const std::string keyBefore = slurp(alice.keyPath);
  auto again = pki::issue(dir_, "alice", "netops");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, pki::PkiErrorKind::Conflict);
  EXPECT_EQ(slurp(alice.keyPath), keyBefore);
  // and nothing of the failed attempt is left in the index
  auto entries = pki::list(dir_);
  ASSERT_TRUE(entries);
  EXPECT_EQ(entries->size(), 2u);
}

// private/ as the package makes it: 0710 with bulwarkd's group (kDaemonGroup stands for it).
constexpr gid_t kDaemonGroup = 64250;
void PkiTest::privateForTheDaemonsGroup() {
  ASSERT_TRUE(fs::create_directories(dir_ / "private"));
  ASSERT_EQ(::chmod((dir_ / "private").c_str(), 0710), 0);
  ASSERT_EQ(::chown((dir_ / "private").c_str(), static_cast<uid_t>(-1), kDaemonGroup), 0);
}

// bulwarkd runs as its own user: with private/ at 0710 and the daemon's group, the gateway
// key is written 0640 with that group (readable by the daemon), the CA key stays 0600.
TEST_F(PkiTest, GatewayKeyIsGroupReadableWhenPrivateIsGroupTraversable) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give files to another group";
  const gid_t daemonGroup = kDaemonGroup;
  ASSERT_NO_FATAL_FAILURE(privateForTheDaemonsGroup());
  initPki(dir_);
  struct stat st {};
  ASSERT_EQ(::stat(pki::gatewayKeyPath(dir_).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_EQ(st.st_gid, daemonGroup);
  ASSERT_EQ(::stat(pki::caKeyPath(dir_).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(st.st_gid, daemonGroup);
  EXPECT_EQ(modeOf(dir_ / "private"), 0710u);  // accepted as private, left as it was
}

// An HA node's certificate: its bulwarkd (its own user, private/'s group) reads the key from
// issued/<node>/; an admin's bundle next to it stays the owner's alone.
TEST_F(PkiTest, NodeKeyIsReadableByTheDaemonsGroupAndAdminBundlesAreNot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give files to another group";
  const gid_t daemonGroup = kDaemonGroup;
  ASSERT_NO_FATAL_FAILURE(privateForTheDaemonsGroup());
  initPki(dir_);
  auto admin = issue("alice", "netops");
  pki::IssueOptions node;
  node.daemonReads = true;
  auto a = pki::issue(dir_, "edge1-a", "bulwark-peer", node);
  ASSERT_TRUE(a) << a.error().message;
  auto gidOf = [](const fs::path& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 ? st.st_gid : static_cast<gid_t>(-1);
  };
  EXPECT_EQ(modeOf(dir_ / "issued"), 0710u);
  EXPECT_EQ(gidOf(dir_ / "issued"), daemonGroup);
  EXPECT_EQ(modeOf(a->keyPath.parent_path()), 0710u);
  EXPECT_EQ(gidOf(a->keyPath.parent_path()), daemonGroup);
  EXPECT_EQ(modeOf(a->keyPath), 0640u);
  EXPECT_EQ(gidOf(a->keyPath), daemonGroup);
  EXPECT_EQ(modeOf(a->p12Path), 0640u);
  EXPECT_EQ(modeOf(a->certPath), 0644u);
  EXPECT_EQ(modeOf(admin.keyPath.parent_path()), 0700u);
  EXPECT_EQ(modeOf(admin.keyPath), 0600u);
  EXPECT_NE(gidOf(admin.keyPath), daemonGroup);
  // Issuing another admin keeps issued/ passable (0710 counts as private).
  auto bob = issue("bob", "dba");
  EXPECT_EQ(modeOf(bob.keyPath), 0600u);
  EXPECT_EQ(modeOf(dir_ / "issued"), 0710u);
}

// Without a daemon group (private/ 0700), a node's key is like any other: 0600.
TEST_F(PkiTest, NodeKeyWithoutADaemonGroupIsPrivate) {
  initPki(dir_);
  pki::IssueOptions node;
  node.daemonReads = true;
  auto a = pki::issue(dir_, "edge1-a", "bulwark-peer", node);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(modeOf(a->keyPath), 0600u);
  EXPECT_EQ(modeOf(dir_ / "issued"), 0700u);
}

// The modes are the PKI's, not the umask's: bulwark-crl.service renews the CRL with UMask=0077,
// and bulwarkd (its own user) must still read crl.pem and the certificates.
TEST_F(PkiTest, FilesGetTheirModesWhateverTheUmask) {
  const mode_t before = ::umask(077);
  initPki(dir_);
  auto alice = issue("alice", "netops");
  ASSERT_TRUE(pki::revoke(dir_, "alice"));
  auto renewed = pki::renewCrl(dir_);
  ::umask(before);
  ASSERT_TRUE(renewed) << renewed.error().message;
  for (const fs::path& p : {pki::crlPath(dir_), pki::caCertPath(dir_), pki::gatewayCertPath(dir_),
                            pki::indexPath(dir_), alice.certPath}) {
    EXPECT_EQ(modeOf(p), 0644u) << p;
  }
  EXPECT_EQ(modeOf(pki::caKeyPath(dir_)), 0600u);
  EXPECT_EQ(modeOf(pki::gatewayKeyPath(dir_)), 0600u);
}

TEST_F(PkiTest, Pkcs12OpensWithThePasswordAndHoldsKeyCertAndCa) {
  initPki(dir_);
  pki::IssueOptions opts;
  opts.password = "correct horse battery staple";
  auto bob = pki::issue(dir_, "bob", "dba", opts);
  ASSERT_TRUE(bob) << bob.error().message;
  EXPECT_TRUE(bob->generatedPassword.empty());
  auto carol = issue("carol", "netops");
  EXPECT_EQ(carol.generatedPassword.size(), 23u);  // 4 x 5 symbols + 3 dashes

  for (const auto& [path, password, certPath] :
       {std::tuple{bob->p12Path, *opts.password, bob->certPath},
        std::tuple{carol.p12Path, carol.generatedPassword, carol.certPath}}) {
    BioPtr bio(BIO_new_file(path.c_str(), "rb"));
    P12Ptr p12(d2i_PKCS12_bio(bio.get(), nullptr));
    ASSERT_TRUE(p12);
    EXPECT_EQ(PKCS12_verify_mac(p12.get(), "wrong password", -1), 0);
    ASSERT_EQ(PKCS12_verify_mac(p12.get(), password.c_str(), -1), 1);
    EVP_PKEY* rawKey = nullptr;
    X509* rawCert = nullptr;
    STACK_OF(X509)* rawCa = nullptr;
    ASSERT_EQ(PKCS12_parse(p12.get(), password.c_str(), &rawKey, &rawCert, &rawCa), 1);
    PkeyPtr key(rawKey);
    X509Ptr cert(rawCert);
    CertsPtr chain(rawCa);
    ASSERT_TRUE(key && cert && chain);
    EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
    X509Ptr onDisk = readCert(certPath);
    EXPECT_EQ(X509_cmp(cert.get(), onDisk.get()), 0);
    ASSERT_EQ(sk_X509_num(chain.get()), 1);
    X509Ptr ca = readCert(pki::caCertPath(dir_));
    EXPECT_EQ(X509_cmp(sk_X509_value(chain.get(), 0), ca.get()), 0);
  }
}

TEST_F(PkiTest, RevokeWritesASignedCrlThatRefusesOnlyTheRevokedCertificate) {
  initPki(dir_);
  auto alice = issue("alice", "netops");
  auto bob = issue("bob", "netops");
  auto r = pki::revoke(dir_, "alice");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->serial, alice.serial);
  EXPECT_EQ(r->crl.crlNumber, 2u);
  EXPECT_EQ(r->crl.revokedCount, 1u);

  X509Ptr ca = readCert(pki::caCertPath(dir_));
  CrlPtr crl = readCrl(pki::crlPath(dir_));
  ASSERT_TRUE(ca && crl);
  EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(ca.get())), 1);
  EXPECT_EQ(X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(ca.get())), 0);
  X509_REVOKED* entry = nullptr;
  X509Ptr aliceCert = readCert(alice.certPath);
  X509Ptr bobCert = readCert(bob.certPath);
  EXPECT_EQ(X509_CRL_get0_by_serial(crl.get(), &entry, X509_get_serialNumber(aliceCert.get())), 1);
  EXPECT_EQ(X509_CRL_get0_by_serial(crl.get(), &entry, X509_get_serialNumber(bobCert.get())), 0);
  auto* number = static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl.get(), NID_crl_number, nullptr, nullptr));
  ASSERT_NE(number, nullptr);
  EXPECT_EQ(ASN1_INTEGER_get(number), 2);
  ASN1_INTEGER_free(number);
  const std::int64_t nextUpdateDays = (r->crl.nextUpdate - std::time(nullptr) + 60) / 86400;
  EXPECT_EQ(nextUpdateDays, pki::kCrlValidityDays);

  EXPECT_EQ(verify(aliceCert.get(), ca.get(), crl.get()), X509_V_ERR_CERT_REVOKED);
  EXPECT_EQ(verify(bobCert.get(), ca.get(), crl.get()), X509_V_OK);

  // revoking again is an error; the list shows the state; a new certificate can be issued
  auto again = pki::revoke(dir_, "alice");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, pki::PkiErrorKind::NotFound);
  auto entries = pki::list(dir_);
  ASSERT_TRUE(entries);
  EXPECT_TRUE((*entries)[1].revoked);
  EXPECT_GT((*entries)[1].revokedAt, 0);
  pki::IssueOptions opts;
  opts.outDir = root_ / "alice-new";
  auto reissued = pki::issue(dir_, "alice", "netops", opts);
  ASSERT_TRUE(reissued) << reissued.error().message;
  X509Ptr newCert = readCert(reissued->certPath);
  EXPECT_EQ(verify(newCert.get(), ca.get(), crl.get()), X509_V_OK);

  // renewCrl: a higher number, the same revoked set
  auto renewed = pki::renewCrl(dir_);
  ASSERT_TRUE(renewed);
  EXPECT_EQ(renewed->crlNumber, 3u);
  EXPECT_EQ(renewed->revokedCount, 1u);
}

TEST_F(PkiTest, ACertificateFromAForeignCaDoesNotVerify) {
  initPki(dir_, "Bulwark Admin CA");
  fs::path foreignDir = root_ / "foreign";
  initPki(foreignDir, "Bulwark Admin CA");  // same name, different key
  auto mallory = issue("mallory", "netops", foreignDir);
  X509Ptr ours = readCert(pki::caCertPath(dir_));
  X509Ptr cert = readCert(mallory.certPath);
  ASSERT_TRUE(ours && cert);
  EXPECT_NE(verify(cert.get(), ours.get()), X509_V_OK);
  X509Ptr theirs = readCert(pki::caCertPath(foreignDir));
  EXPECT_EQ(verify(cert.get(), theirs.get()), X509_V_OK);
}

TEST_F(PkiTest, GatewayCertificateHasSanAndIkeEku) {
  ASSERT_TRUE(pki::init(dir_, "CA"));
  auto bad = pki::issueGateway(dir_, "CN=vpn");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, pki::PkiErrorKind::Invalid);
  auto gw = pki::issueGateway(dir_, "vpn.example.org");
  ASSERT_TRUE(gw) << gw.error().message;
  X509Ptr ca = readCert(pki::caCertPath(dir_));
  X509Ptr cert = readCert(gw->certPath);
  ASSERT_TRUE(cert);
  EXPECT_EQ(verify(cert.get(), ca.get()), X509_V_OK);
  EXPECT_EQ(field(cert.get(), NID_commonName), "vpn.example.org");
  EXPECT_EQ(sans(cert.get(), GEN_DNS), std::vector<std::string>{"vpn.example.org"});
  EXPECT_TRUE(hasEku(cert.get(), "1.3.6.1.5.5.7.3.1"));   // serverAuth
  EXPECT_TRUE(hasEku(cert.get(), "1.3.6.1.5.5.7.3.17"));  // ipsecIKE
  EXPECT_EQ(modeOf(gw->keyPath), 0600u);
  auto dup = pki::issueGateway(dir_, "vpn.example.org");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().kind, pki::PkiErrorKind::Conflict);
  // after revoking it, an address identity gets an IP SAN
  ASSERT_TRUE(pki::revoke(dir_, "vpn.example.org"));
  auto ip = pki::issueGateway(dir_, "192.0.2.10");
  ASSERT_TRUE(ip) << ip.error().message;
  X509Ptr ipCert = readCert(ip->certPath);
  const unsigned char addr[4] = {192, 0, 2, 10};
  EXPECT_EQ(sans(ipCert.get(), GEN_IPADD), std::vector<std::string>{std::string(reinterpret_cast<const char*>(addr), 4)});
  EXPECT_TRUE(sans(ipCert.get(), GEN_DNS).empty());
}

// `openssl` (Debian's CLI, not our code path) reads the bundle and verifies the chain.
TEST_F(PkiTest, OpensslCliIsAnIndependentWitness) {
  if (!haveOpenssl()) {
    GTEST_SKIP() << "openssl command not installed";
  }
  initPki(dir_);
  auto alice = issue("alice", "netops");
  auto bob = issue("bob", "dba");
  const std::string ca = pki::caCertPath(dir_).string();

  CmdResult v = runCmd("openssl verify -CAfile " + ca + " " + alice.certPath.string(), root_);
  EXPECT_EQ(v.status, 0) << v.output;
  EXPECT_NE(v.output.find(": OK"), std::string::npos) << v.output;

  const fs::path pw = root_ / "pw";
  {
    std::ofstream(pw) << alice.generatedPassword << '\n';
  }
  CmdResult p12 = runCmd("openssl pkcs12 -in " + alice.p12Path.string() + " -passin file:" + pw.string() + " -nokeys", root_);
  EXPECT_EQ(p12.status, 0) << p12.output;
  EXPECT_NE(p12.output.find("subject=CN = alice, OU = netops"), std::string::npos) << p12.output;
  EXPECT_NE(p12.output.find("subject=CN = Bulwark Test Admin CA"), std::string::npos) << p12.output;
  CmdResult keyOut = runCmd("openssl pkcs12 -in " + alice.p12Path.string() + " -passin file:" + pw.string() +
                       " -nocerts -nodes | openssl pkey -pubout",
                   root_);
  CmdResult certPub = runCmd("openssl x509 -in " + alice.certPath.string() + " -noout -pubkey", root_);
  EXPECT_EQ(keyOut.status, 0) << keyOut.output;
  EXPECT_EQ(keyOut.output, certPub.output);
  CmdResult wrong = runCmd("openssl pkcs12 -in " + alice.p12Path.string() + " -passin pass:nope -noout", root_);
  EXPECT_NE(wrong.status, 0);

  ASSERT_TRUE(pki::revoke(dir_, "alice"));
  const std::string crlCheck = "openssl verify -crl_check -CRLfile " + pki::crlPath(dir_).string() + " -CAfile " + ca + " ";
  CmdResult revoked = runCmd(crlCheck + alice.certPath.string(), root_);
  EXPECT_NE(revoked.status, 0) << revoked.output;
  EXPECT_NE(revoked.output.find("certificate revoked"), std::string::npos) << revoked.output;
  CmdResult fine = runCmd(crlCheck + bob.certPath.string(), root_);
  EXPECT_EQ(fine.status, 0) << fine.output;
  CmdResult gw = runCmd("openssl verify -CAfile " + ca + " -purpose sslserver " + pki::gatewayCertPath(dir_).string(), root_);
  EXPECT_EQ(gw.status, 0) << gw.output;
}

#ifdef BULWARKCTL_PATH
// bulwarkctl pki issue prints the one-time password and nothing else that is secret.
TEST_F(PkiTest, BulwarkctlIssuePrintsNoSecrets) {
  const std::string ctl = std::string(BULWARKCTL_PATH) + " pki --dir " + dir_.string() + " ";
  const std::string policy = std::string(BULWARK_EXAMPLES_DIR) + "/campus.yaml";
  CmdResult init = runCmd(ctl + "init -p " + policy, root_);
  ASSERT_EQ(init.status, 0) << init.output;
  CmdResult initAgain = runCmd(ctl + "init --ca-name Other", root_);
  EXPECT_EQ(initAgain.status, 1) << initAgain.output;
  CmdResult gw = runCmd(ctl + "gateway -p " + policy, root_);
  ASSERT_EQ(gw.status, 0) << gw.output;

  CmdResult issued = runCmd(ctl + "issue alice --group netops -p " + policy, root_);
  ASSERT_EQ(issued.status, 0) << issued.output;
  const fs::path bundle = dir_ / "issued" / "alice";
  // the client profiles for every kind of client sit next to the PKCS#12 (formats:
  // tests/vpn/check_client_profiles.py)
  for (const char* f : {"alice.swanctl.conf", "alice.mobileconfig", "alice.sswan", "alice.nmconnection", "alice.ps1",
                        "alice.README.txt"}) {
    EXPECT_TRUE(fs::exists(bundle / f)) << f;
    EXPECT_NE(issued.output.find(f), std::string::npos) << f;
  }
  // no line of any private key's PEM body appears
  for (const fs::path& keyFile : {bundle / "alice.key", pki::caKeyPath(dir_), pki::gatewayKeyPath(dir_)}) {
    std::istringstream pem(slurp(keyFile));
    std::string line;
    int bodyLines = 0;
    while (std::getline(pem, line)) {
      if (line.rfind("-----", 0) == 0 || line.size() < 16) {
        continue;
      }
      ++bodyLines;
      EXPECT_EQ(issued.output.find(line), std::string::npos) << "key material of " << keyFile << " printed";
      EXPECT_EQ(issued.output.find(line.substr(0, 16)), std::string::npos);
    }
    EXPECT_GT(bodyLines, 0);
  }
  EXPECT_EQ(issued.output.find("PRIVATE KEY"), std::string::npos);
  // exactly one password line, and that password opens the bundle
  std::istringstream lines(issued.output);
  std::string line, password;
  int passwordLines = 0;
  while (std::getline(lines, line)) {
    if (line.find("password") != std::string::npos) {
      ++passwordLines;
      password = line.substr(line.rfind(' ') + 1);
    }
  }
  ASSERT_EQ(passwordLines, 1) << issued.output;
  BioPtr bio(BIO_new_file((bundle / "alice.p12").c_str(), "rb"));
  P12Ptr p12(d2i_PKCS12_bio(bio.get(), nullptr));
  ASSERT_TRUE(p12);
  EXPECT_EQ(PKCS12_verify_mac(p12.get(), password.c_str(), -1), 1);
  // the password is in no file of the PKI or the bundle
  for (const auto& f : fs::recursive_directory_iterator(dir_)) {
    if (f.is_regular_file()) {
      EXPECT_EQ(slurp(f.path()).find(password), std::string::npos) << f.path();
    }
  }

  // a given password is never echoed
  const fs::path pwFile = root_ / "bob.pw";
  {
    std::ofstream(pwFile) << "s3cret-given-password\n";
  }
  CmdResult bob = runCmd(ctl + "issue bob --group dba --out " + (root_ / "bob").string() + " --password-file " + pwFile.string(), root_);
  ASSERT_EQ(bob.status, 0) << bob.output;
  EXPECT_EQ(bob.output.find("s3cret-given-password"), std::string::npos);
  EXPECT_EQ(bob.output.find("password"), std::string::npos) << bob.output;

  // a group the policy lacks is refused; bad usage is 2
  CmdResult unknown = runCmd(ctl + "issue carol --group nosuchgroup -p " + policy, root_);
  EXPECT_EQ(unknown.status, 1) << unknown.output;
  EXPECT_NE(unknown.output.find("nosuchgroup"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "issued" / "carol"));
  CmdResult usage = runCmd(ctl + "issue carol", root_);
  EXPECT_EQ(usage.status, 2) << usage.output;

  CmdResult revoke = runCmd(ctl + "revoke alice", root_);
  EXPECT_EQ(revoke.status, 0) << revoke.output;
  CmdResult list = runCmd(std::string(BULWARKCTL_PATH) + " --json pki list --dir " + dir_.string(), root_);
  ASSERT_EQ(list.status, 0) << list.output;
  EXPECT_NE(list.output.find("\"revoked\": true"), std::string::npos) << list.output;
  EXPECT_NE(list.output.find("\"group\": \"dba\""), std::string::npos) << list.output;
}
#endif

}  // namespace
