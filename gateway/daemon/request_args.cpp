#include "request_args.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <string_view>

namespace bulwark::daemon {

gateway::Result<std::optional<PolicyInput>> sourcesArg(gateway::Request& req) {
  auto commit = gitCommitArg(req);
  if (!commit) return commit.error();
  auto it = req.body.find("sources");
  if (it == req.body.end() || it->is_null()) {
    // The daemon's own dir has its own commit (readPolicyDir); a claim without sources is a mistake.
    if (!commit->empty()) return gateway::Error{"'git_commit' goes with 'sources'"};
    return std::optional<PolicyInput>();
  }
  auto in = policyFromJson(*it);
  if (!in) return in.error();
  in->gitCommit = std::move(*commit);
  return std::optional<PolicyInput>(std::move(*in));
}

gateway::Result<std::string> gitCommitArg(const gateway::Request& req) {
  auto it = req.body.find("git_commit");
  if (it == req.body.end() || it->is_null()) return std::string();
  const gateway::Error bad{"'git_commit' must be 7-64 lowercase hex digits, optionally followed by \"-dirty\""};
  if (!it->is_string()) return bad;
  std::string_view v = it->get_ref<const std::string&>();
  constexpr std::string_view kDirty = "-dirty";
  const std::string_view hex = v.ends_with(kDirty) ? v.substr(0, v.size() - kDirty.size()) : v;
  bool ok = hex.size() >= kMinCommitHex && hex.size() <= kMaxCommitHex;
  for (char c : hex) ok = ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  if (!ok) return bad;
  return std::string(v);
}

gateway::Result<std::optional<int>> confirmArg(const gateway::Request& req, int maxSeconds) {
  auto it = req.body.find("confirm");
  if (it == req.body.end() || it->is_null()) return std::optional<int>();
  // is_number_integer covers the unsigned ones too; get<std::int64_t> of a value above
  // INT64_MAX wraps, so unsigned values are compared as unsigned first.
  bool ok = it->is_number_unsigned() ? it->get<std::uint64_t>() >= 1 &&
                                           it->get<std::uint64_t>() <= static_cast<std::uint64_t>(maxSeconds)
                                     : it->is_number_integer() && it->get<std::int64_t>() >= 1 &&
                                           it->get<std::int64_t>() <= maxSeconds;
  if (!ok) return gateway::Error{"'confirm' must be 1.." + std::to_string(maxSeconds) + " seconds"};
  return std::optional<int>(static_cast<int>(it->get<std::int64_t>()));
}

gateway::Result<bool> flagArg(const gateway::Request& req, const char* name) {
  auto it = req.body.find(name);
  if (it == req.body.end() || it->is_null()) return false;
  if (!it->is_boolean()) return gateway::Error{std::string("'") + name + "' must be true or false"};
  return it->get<bool>();
}

gateway::Result<int> revisionArg(const gateway::Request& req) {
  auto it = req.body.find("revision");
  bool ok = it != req.body.end() &&
            (it->is_number_unsigned() ? it->get<std::uint64_t>() >= 1 && it->get<std::uint64_t>() <= INT_MAX
                                      : it->is_number_integer() && it->get<std::int64_t>() >= 1 &&
                                            it->get<std::int64_t>() <= INT_MAX);
  if (!ok) {
    return gateway::Error{std::string(gateway::opName(req.op)) + " needs an integer 'revision' from 1 to " +
                          std::to_string(INT_MAX)};
  }
  return static_cast<int>(it->get<std::int64_t>());
}

std::size_t historyLimitArg(const gateway::Request& req) {
  auto it = req.body.find("limit");
  if (it == req.body.end() || !it->is_number_unsigned()) return kDefaultHistory;
  auto v = it->get<std::uint64_t>();
  return v > kMaxHistory ? kMaxHistory : static_cast<std::size_t>(v);
}

gateway::Result<bool> keepEstablishedArg(const gateway::Request& req) {
  auto it = req.body.find("keep_established");
  if (it == req.body.end() || it->is_null()) return false;
  if (!it->is_boolean()) return gateway::Error{"'keep_established' must be true or false"};
  return it->get<bool>();
}

gateway::Result<std::optional<engine::KeptFlow>> sessionArg(const gateway::Request& req) {
  auto it = req.body.find("session");
  if (it == req.body.end() || it->is_null()) return std::optional<engine::KeptFlow>();
  std::optional<engine::KeptFlow> k;
  if (it->is_string() && it->get_ref<const std::string&>().size() <= kMaxSessionBytes) {
    k = engine::keptFlowFromText(it->get_ref<const std::string&>());
  }
  if (!k) return gateway::Error{"'session' must be \"client_ip client_port server_ip server_port\""};
  return k;
}

gateway::Result<std::vector<std::string>> partsArg(const gateway::Request& req) {
  auto it = req.body.find("parts");
  std::vector<std::string> parts;
  if (it == req.body.end() || it->is_null()) return parts;
  const gateway::Error bad{"'parts' must be a list of 1-" + std::to_string(kMaxParts) +
                           " distinct kind names (firewall, links, vpn, ...)"};
  if (!it->is_array() || it->empty() || it->size() > kMaxParts) return bad;
  for (const auto& v : *it) {
    if (!v.is_string()) return bad;
    const auto& name = v.get_ref<const std::string&>();
    bool ok = !name.empty() && name.size() <= kMaxPartBytes;
    for (char c : name) ok = ok && c >= 'a' && c <= 'z';
    if (!ok || std::find(parts.begin(), parts.end(), name) != parts.end()) return bad;
    parts.push_back(name);
  }
  return parts;
}

gateway::Result<std::string> terminateUserArg(const gateway::Request& req) {
  auto it = req.body.find("user");
  if (it == req.body.end() || !it->is_string()) return gateway::Error{"terminate needs a 'user'"};
  const auto& user = it->get_ref<const std::string&>();
  bool ok = !user.empty() && user.size() <= kMaxUserBytes;
  for (char c : user) ok = ok && static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
  if (!ok) {
    return gateway::Error{"terminate needs a 'user' of 1-" + std::to_string(kMaxUserBytes) +
                          " bytes without control characters"};
  }
  return user;
}

}  // namespace bulwark::daemon
