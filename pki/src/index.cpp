// index.json: who has which serial, group, validity and revocation; the CRL number.
#include <nlohmann/json.hpp>

#include "internal.h"

namespace bulwark::pki::detail {

IndexEntry* Index::active(std::string_view name, std::string_view kind) {
  for (auto& e : entries) {
    if (!e.revoked && e.name == name && (kind.empty() || e.kind == kind)) {
      return &e;
    }
  }
  return nullptr;
}

bool Index::hasSerial(std::string_view serial) const {
  for (const auto& e : entries) {
    if (e.serial == serial) {
      return true;
    }
  }
  return false;
}

PkiResult<Index> loadIndex(const fs::path& dir) {
  auto text = readFile(indexPath(dir));
  if (!text) {
    if (text.error().kind == PkiErrorKind::NotFound) {
      return makeError(PkiErrorKind::NotFound,
                       "no PKI in " + dir.string() + " (run `bulwarkctl pki init` first)");
    }
    return text.error();
  }
  auto j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  auto bad = [&](const std::string& why) {
    return makeError(PkiErrorKind::Io, indexPath(dir).string() + ": " + why);
  };
  if (j.is_discarded() || !j.is_object() || j.value("version", 0) != 1) {
    return bad("not a Bulwark PKI index (version 1)");
  }
  Index idx;
  if (!j.contains("caName") || !j["caName"].is_string() || !j.contains("crlNumber") ||
      !j["crlNumber"].is_number_unsigned() || !j.contains("certs") || !j["certs"].is_array()) {
    return bad("missing caName, crlNumber or certs");
  }
  idx.caName = j["caName"].get<std::string>();
  idx.crlNumber = j["crlNumber"].get<std::uint64_t>();
  for (const auto& c : j["certs"]) {
    if (!c.is_object()) {
      return bad("a certs entry is not an object");
    }
    IndexEntry e;
    try {
      e.name = c.at("name").get<std::string>();
      e.group = c.value("group", std::string());
      e.kind = c.at("kind").get<std::string>();
      e.serial = c.at("serial").get<std::string>();
      e.notBefore = c.at("notBefore").get<std::int64_t>();
      e.notAfter = c.at("notAfter").get<std::int64_t>();
      e.revoked = c.value("revoked", false);
      e.revokedAt = c.value("revokedAt", std::int64_t{0});
    } catch (const nlohmann::json::exception& ex) {
      return bad(std::string("bad certs entry: ") + ex.what());
    }
    idx.entries.push_back(std::move(e));
  }
  return idx;
}

void stageIndex(FileTransaction& tx, const fs::path& dir, const Index& index) {
  nlohmann::json certs = nlohmann::json::array();
  for (const auto& e : index.entries) {
    nlohmann::json c = {{"name", e.name}, {"kind", e.kind}, {"serial", e.serial},
                        {"notBefore", e.notBefore}, {"notAfter", e.notAfter}, {"revoked", e.revoked}};
    if (!e.group.empty()) {
      c["group"] = e.group;
    }
    if (e.revoked) {
      c["revokedAt"] = e.revokedAt;
    }
    certs.push_back(std::move(c));
  }
  nlohmann::json j = {{"version", 1}, {"caName", index.caName}, {"crlNumber", index.crlNumber},
                      {"certs", std::move(certs)}};
  tx.replace(indexPath(dir), 0644, j.dump(2) + "\n");
}

}  // namespace bulwark::pki::detail
