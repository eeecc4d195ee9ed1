// bulwarkctl pki: init, issue, revoke, list, gateway, crl. Exit codes: 0 ok, 1 failure,
// 2 usage. Private keys are never printed; the one secret that is printed is a generated
// PKCS#12 password, once, on stdout.
#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include "bulwark/gateway/protocol.h"
#include "bulwark/pki/pki.h"
#include "bulwark/policies/loader.h"
#include "bulwark/vpn/client_profiles.h"
#include "commands.h"
#include "output.h"

namespace bulwark::cli {

namespace {

namespace pki = bulwark::pki;

constexpr int kExitFailure = 1;

struct PkiArgs {
  std::string dir = pki::kDefaultDir;
  std::string caName;
  std::string name;
  std::string group;
  std::string out;
  std::string passwordFile;
  std::string localId;
  std::string address;  // issue: where clients connect (default: the gateway's identity)
  CLI::Option* policyOpt = nullptr;  // owned by the CLI::App
};

int fail(const pki::PkiError& e) {
  std::cerr << "bulwarkctl pki: " << e.message << '\n';
  return e.kind == pki::PkiErrorKind::Invalid ? kExitUsage : kExitFailure;
}

// The policy's vpn section, or an exit code.
struct PolicyVpn {
  std::optional<policies::Vpn> vpn;
  int exitCode = kExitOk;
};

PolicyVpn loadVpn(const std::string& path, const GlobalOptions& opts) {
  auto result = policies::loadAndValidate(path);
  if (failed(result.diagnostics, opts.werror)) {
    printDiagnostics(result.diagnostics);
    std::cerr << path << ": invalid policy\n";
    return {std::nullopt, kExitFailure};
  }
  if (!result.policy.vpn) {
    std::cerr << path << ": the policy has no vpn section\n";
    return {std::nullopt, kExitFailure};
  }
  return {result.policy.vpn, kExitOk};
}

// A setting given on the command line, or else `field` of the policy's vpn section; `value`
// is empty when neither gives it (the policy's problem said on stderr, `exitCode` set).
struct Setting {
  std::string value;
  int exitCode = kExitOk;
};

Setting givenOrPolicy(const std::string& given, std::string policies::Vpn::*field, const std::string& policyPath,
                      const GlobalOptions& opts) {
  if (!given.empty()) {
    return {given, kExitOk};
  }
  auto pv = loadVpn(policyPath, opts);
  if (!pv.vpn) {
    return {{}, pv.exitCode};
  }
  return {(*pv.vpn).*field, kExitOk};
}

// A PKI step's outcome as the command's: its error, or what it made for tools (--json:
// forTools(made)) or for people (forPeople(std::cout, made)).
template <typename T, typename ForTools, typename ForPeople>
int report(const GlobalOptions& opts, const pki::PkiResult<T>& made, const ForTools& forTools,
           const ForPeople& forPeople) {
  if (!made) {
    return fail(made.error());
  }
  if (opts.json) {
    std::cout << forTools(*made).dump(2) << '\n';
  } else {
    forPeople(std::cout, *made);
  }
  return kExitOk;
}

std::optional<std::string> readPasswordFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
    line.pop_back();
  }
  return line;
}

int runInit(const PkiArgs& a, const std::string& policyPath, const GlobalOptions& opts) {
  const Setting caName = givenOrPolicy(a.caName, &policies::Vpn::caName, policyPath, opts);
  if (caName.exitCode != kExitOk) {
    std::cerr << "bulwarkctl pki init: give --ca-name or a policy with vpn.ca\n";
    return caName.exitCode;
  }
  return report(
      opts, pki::init(a.dir, caName.value),
      [](const pki::CaInfo& ca) {
        return nlohmann::json{{"subject", ca.subject},
                              {"serial", ca.serial},
                              {"notAfter", pki::isoTime(ca.notAfter)},
                              {"cert", ca.certPath.string()}};
      },
      [&a](std::ostream& out, const pki::CaInfo& ca) {
        out << "CA " << ca.subject << " created in " << a.dir << " (valid until " << pki::isoTime(ca.notAfter)
            << ")\n  certificate: " << ca.certPath.string() << "\n  key:         " << pki::caKeyPath(a.dir).string()
            << " (0600)\n";
      });
}

int runGateway(const PkiArgs& a, const std::string& policyPath, const GlobalOptions& opts) {
  const Setting localId = givenOrPolicy(a.localId, &policies::Vpn::localId, policyPath, opts);
  if (localId.exitCode != kExitOk) {
    return localId.exitCode;
  }
  return report(
      opts, pki::issueGateway(a.dir, localId.value),
      [](const pki::GatewayCert& gw) {
        return nlohmann::json{
            {"localId", gw.localId},        {"serial", gw.serial},        {"notAfter", pki::isoTime(gw.notAfter)},
            {"cert", gw.certPath.string()}, {"key", gw.keyPath.string()}, {"ca", gw.caCertPath.string()}};
      },
      [](std::ostream& out, const pki::GatewayCert& gw) {
        out << "gateway certificate for " << gw.localId << " (serial " << gw.serial << ", valid until "
            << pki::isoTime(gw.notAfter) << ")\n  certificate: " << gw.certPath.string()
            << "\n  key:         " << gw.keyPath.string() << " (0600)\n";
      });
}

// The mode the key got ("0600", or "0640 with bulwarkd's group" for an HA node's key).
std::string modeText(const std::filesystem::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return "?";
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return (st.st_mode & 040) != 0 ? std::string(buf) + ", readable by bulwarkd's group" : std::string(buf);
}

int runIssue(const PkiArgs& a, const std::string& policyPath, const GlobalOptions& opts) {
  pki::IssueOptions io;
  io.outDir = a.out;
  io.daemonReads = a.group == gateway::kPeerGroup;  // an HA node's certificate: its bulwarkd reads the key
  // The client profiles carry exactly what the gateway's charon offers and expects.
  vpn::ClientProfileParams profile{{}, a.address, vpn::defaultProposals()};
  if (a.policyOpt != nullptr && a.policyOpt->count() > 0) {
    auto pv = loadVpn(policyPath, opts);
    if (!pv.vpn) {
      return pv.exitCode;
    }
    const auto& groups = pv.vpn->groups;
    if (std::none_of(groups.begin(), groups.end(), [&](const auto& g) { return g.name == a.group; })) {
      std::cerr << "bulwarkctl pki issue: the policy has no VPN group '" << a.group << "'\n";
      return kExitFailure;
    }
    profile.gatewayId = pv.vpn->localId;
    profile.proposals = vpn::gatewayProposals(*pv.vpn);
  }
  if (profile.gatewayId.empty()) {
    auto id = pki::activeGatewayId(a.dir);
    if (!id) {
      return fail(id.error());
    }
    profile.gatewayId = *id;
  }
  io.bundle = [&profile](const pki::BundleInput& admin) { return vpn::clientProfiles(profile, admin); };
  if (!a.passwordFile.empty()) {
    auto pw = readPasswordFile(a.passwordFile);
    if (!pw) {
      std::cerr << "bulwarkctl pki issue: cannot read " << a.passwordFile << '\n';
      return kExitFailure;
    }
    io.password = std::move(*pw);
  }
  auto cert = pki::issue(a.dir, a.name, a.group, io);
  if (!cert) {
    return fail(cert.error());
  }
  if (opts.json) {
    nlohmann::json j = {{"name", cert->name},
                        {"group", cert->group},
                        {"identity", cert->identity},
                        {"serial", cert->serial},
                        {"notAfter", pki::isoTime(cert->notAfter)},
                        {"files",
                         {{"key", cert->keyPath.string()},
                          {"cert", cert->certPath.string()},
                          {"p12", cert->p12Path.string()},
                          {"ca", cert->caCertPath.string()}}}};
    for (const auto& [label, path] : cert->bundleFiles) {
      j["files"][label] = path.string();
    }
    if (!cert->generatedPassword.empty()) {
      j["p12Password"] = cert->generatedPassword;
    }
    std::cout << j.dump(2) << '\n';
  } else {
    std::cout << "issued " << cert->identity << " (serial " << cert->serial << ", valid until "
              << pki::isoTime(cert->notAfter) << ")\n"
              << "  bundle in " << cert->p12Path.parent_path().string() << ": " << cert->p12Path.filename().string()
              << ", " << cert->keyPath.filename().string() << " (" << modeText(cert->keyPath) << "), "
              << cert->certPath.filename().string()
              << ", ca.crt";
    for (const auto& [label, path] : cert->bundleFiles) {
      std::cout << ", " << path.filename().string();
    }
    std::cout << '\n';
    if (!cert->generatedPassword.empty()) {
      std::cout << "PKCS#12 password (shown once, not stored): " << cert->generatedPassword << '\n';
    }
  }
  return kExitOk;
}

int runRevoke(const PkiArgs& a, const GlobalOptions& opts) {
  return report(
      opts, pki::revoke(a.dir, a.name),
      [](const pki::Revocation& r) {
        return nlohmann::json{{"name", r.name},
                              {"serial", r.serial},
                              {"crlNumber", r.crl.crlNumber},
                              {"crl", r.crl.path.string()},
                              {"nextUpdate", pki::isoTime(r.crl.nextUpdate)}};
      },
      [](std::ostream& out, const pki::Revocation& r) {
        out << "revoked " << r.name << " (serial " << r.serial << "); CRL #" << r.crl.crlNumber << " with "
            << r.crl.revokedCount << " serial(s) written to " << r.crl.path.string()
            << "\n  charon refuses the certificate once the CRL is loaded (bulwarkctl apply / load-cert X509_CRL)\n";
      });
}

int runCrl(const PkiArgs& a, const GlobalOptions& opts) {
  return report(
      opts, pki::renewCrl(a.dir),
      [](const pki::CrlInfo& crl) {
        return nlohmann::json{{"crlNumber", crl.crlNumber},
                              {"revoked", crl.revokedCount},
                              {"crl", crl.path.string()},
                              {"nextUpdate", pki::isoTime(crl.nextUpdate)}};
      },
      [](std::ostream& out, const pki::CrlInfo& crl) {
        out << "CRL #" << crl.crlNumber << " (" << crl.revokedCount << " revoked) valid until "
            << pki::isoTime(crl.nextUpdate) << ": " << crl.path.string() << '\n';
      });
}

int runList(const PkiArgs& a, const GlobalOptions& opts) {
  auto entries = pki::list(a.dir);
  if (!entries) {
    return fail(entries.error());
  }
  if (opts.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& e : *entries) {
      nlohmann::json j = {{"name", e.name}, {"group", e.group}, {"kind", e.kind}, {"serial", e.serial},
                          {"notBefore", pki::isoTime(e.notBefore)}, {"notAfter", pki::isoTime(e.notAfter)},
                          {"revoked", e.revoked}};
      if (e.revoked) {
        j["revokedAt"] = pki::isoTime(e.revokedAt);
      }
      arr.push_back(std::move(j));
    }
    std::cout << arr.dump(2) << '\n';
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {{"NAME", "GROUP", "KIND", "SERIAL", "NOT AFTER", "STATUS"}};
  for (const auto& e : *entries) {
    rows.push_back({e.name, e.group.empty() ? "-" : e.group, e.kind, e.serial, pki::isoTime(e.notAfter),
                    e.revoked ? "revoked " + pki::isoTime(e.revokedAt) : "valid"});
  }
  std::vector<std::size_t> width(rows.front().size(), 0);
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i) {
      width[i] = std::max(width[i], r[i].size());
    }
  }
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) {
        line += std::string(width[i] - r[i].size() + 2, ' ');
      }
    }
    std::cout << line << '\n';
  }
  return kExitOk;
}

}  // namespace

void registerPkiCommands(Registry& r) {
  auto a = std::make_shared<PkiArgs>();
  auto* pkiCmd = r.app.add_subcommand("pki", "The admin-VPN certificate authority: init, issue, revoke, list, gateway");
  pkiCmd->require_subcommand(1);
  pkiCmd->fallthrough();  // --dir and -p may follow the verb
  pkiCmd->add_option("--dir", a->dir, std::string("PKI directory (default ") + pki::kDefaultDir + ")");
  a->policyOpt = pkiCmd->add_option("-p,--policy", r.path, r.pathHelp);

  auto* init = pkiCmd->add_subcommand("init", "Create the CA (refuses to overwrite one)");
  init->add_option("--ca-name", a->caName, "CA subject CN (default: the policy's vpn.ca)");
  init->callback([&r, a] { r.action = [&r, a] { return runInit(*a, r.path, r.opts); }; });

  auto* issue = pkiCmd->add_subcommand("issue", "Issue an admin certificate, key, PKCS#12 bundle and client profiles (swanctl, Apple, Android, NetworkManager, Windows)");
  issue->add_option("NAME", a->name, "Admin name (the certificate's CN)")->required();
  issue->add_option("--group", a->group, "VPN group (the certificate's OU); checked against -p POLICY")->required();
  issue->add_option("--out", a->out, "Output directory (default <dir>/issued/NAME)");
  issue->add_option("--address", a->address,
                    "Gateway address the client profiles connect to (default: the gateway's identity, vpn.local_id)");
  issue->add_option("--password-file", a->passwordFile, "Read the PKCS#12 password from this file (else one is generated and shown once)");
  issue->callback([&r, a] { r.action = [&r, a] { return runIssue(*a, r.path, r.opts); }; });

  auto* revoke = pkiCmd->add_subcommand("revoke", "Revoke a certificate and write a new CRL");
  revoke->add_option("NAME", a->name, "Admin name, or the gateway's local id")->required();
  revoke->callback([&r, a] { r.action = [&r, a] { return runRevoke(*a, r.opts); }; });

  auto* listCmd = pkiCmd->add_subcommand("list", "List issued certificates (--json for tools)");
  listCmd->callback([&r, a] { r.action = [&r, a] { return runList(*a, r.opts); }; });

  auto* gateway = pkiCmd->add_subcommand("gateway", "Issue the gateway certificate for the policy's vpn.local_id");
  gateway->add_option("--local-id", a->localId, "Override the policy's local_id");
  gateway->callback([&r, a] { r.action = [&r, a] { return runGateway(*a, r.path, r.opts); }; });

  auto* crl = pkiCmd->add_subcommand("crl", "Re-sign the CRL (new number and nextUpdate; run daily)");
  crl->callback([&r, a] { r.action = [&r, a] { return runCrl(*a, r.opts); }; });
}

}  // namespace bulwark::cli
