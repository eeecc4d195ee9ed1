#pragma once
// The VICI verbs Bulwark uses, one source file each (vpn/src/vici_cmd_<verb>.cpp), like
// swanctl's src/swanctl/commands/. Each builds one request, sends it, and maps the reply:
// transport problems stay Transport errors, `success = no` becomes a Command error.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/vpn/vici_client.h"

namespace bulwark::vpn::vici {

struct VersionInfo {
  std::string daemon, version, sysname, release, machine;
};
[[nodiscard]] ViciResult<VersionInfo> version(ViciClient& c);

// load-conn { <name> = { ...swanctl.conf connection... } }
[[nodiscard]] ViciStatus loadConn(ViciClient& c, std::string_view name, const Section& conn);
[[nodiscard]] ViciStatus unloadConn(ViciClient& c, std::string_view name);
// Names of the connections loaded over VICI.
[[nodiscard]] ViciResult<std::vector<std::string>> getConns(ViciClient& c);

struct NamedSection {
  std::string name;
  Section body;
};
// Streams list-conn events (all connections charon knows, or only `ike`).
[[nodiscard]] ViciResult<std::vector<NamedSection>> listConns(ViciClient& c, std::string_view ike = {});

// load-pool { <name> = { addrs = <prefix>, ... } }
[[nodiscard]] ViciStatus loadPool(ViciClient& c, std::string_view name, const Section& pool);
[[nodiscard]] ViciStatus unloadPool(ViciClient& c, std::string_view name);
struct PoolLease {
  std::string address, identity, status;
};
struct PoolInfo {
  std::string name;
  std::string base;
  std::uint64_t size = 0;
  std::uint64_t online = 0;
  std::uint64_t offline = 0;
  std::vector<PoolLease> leases;  // only with leases = true
};
[[nodiscard]] ViciResult<std::vector<PoolInfo>> getPools(ViciClient& c, bool leases = false);

enum class CertType { X509, X509Crl };
enum class CertFlag { None, Ca };
// data: PEM or DER.
[[nodiscard]] ViciStatus loadCert(ViciClient& c, CertType type, CertFlag flag, std::string_view data);
// keyType: "rsa", "ecdsa", "ed25519", "any" (PKCS#8); keyTypeOfPem() guesses it.
[[nodiscard]] ViciStatus loadKey(ViciClient& c, std::string_view keyType, std::string_view data);
[[nodiscard]] std::string keyTypeOfPem(std::string_view pem);

// flush-certs: drop charon's certificate cache ("X509_CRL" = only cached CRLs).
[[nodiscard]] ViciStatus flushCerts(ViciClient& c, std::string_view type = {});

struct ListedCert {
  std::string type;  // X509, X509_CRL, ...
  std::string flag;  // NONE, CA, ...
  bool hasPrivateKey = false;
  std::string data;  // DER
};
// Streams list-cert events. Empty filters = ANY.
[[nodiscard]] ViciResult<std::vector<ListedCert>> listCerts(ViciClient& c, std::string_view type = {},
                                                           std::string_view flag = {});

// Streams list-sa events: one NamedSection per IKE_SA (name = connection name).
[[nodiscard]] ViciResult<std::vector<NamedSection>> listSas(ViciClient& c, std::string_view ike = {});

struct TerminateRequest {
  std::string ike;        // by configuration name ...
  std::string ikeId;      // ... or by unique id (sent as "ike-id", as swanctl does)
  std::string child;
  std::string childId;
  int timeoutMs = 10000;  // charon's own wait; 0 = forever, -1 = don't wait
};
[[nodiscard]] ViciStatus terminate(ViciClient& c, const TerminateRequest& req);

struct InitiateRequest {
  std::string child;
  std::string ike;
  int timeoutMs = 15000;
};
[[nodiscard]] ViciStatus initiate(ViciClient& c, const InitiateRequest& req);

}  // namespace bulwark::vpn::vici
