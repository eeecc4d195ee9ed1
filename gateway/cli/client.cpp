#include "client.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "bulwark/gateway/control_client.h"
#include "bulwark/policies/loader.h"

namespace bulwark::cli {

std::string daemonSocketPath(const std::string& flag) {
  if (!flag.empty()) return flag;
  const char* env = std::getenv("BULWARK_SOCKET");
  return env && *env ? env : gateway::kDefaultSocketPath;
}

bool daemonSocketExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

std::optional<nlohmann::json> policySources(const std::string& path) {
  auto listed = policies::listPolicyFiles(path);
  if (!listed.error.empty()) {
    std::cerr << listed.error << '\n';
    return std::nullopt;
  }
  nlohmann::json sources = nlohmann::json::array();
  for (const auto& f : listed.files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      std::cerr << "bulwarkctl: cannot read " << f.string() << '\n';
      return std::nullopt;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    sources.push_back({{"name", f.string()}, {"text", ss.str()}});
  }
  return sources;
}

DaemonReply callDaemon(const std::string& socket, const std::string& op, nlohmann::json args) {
  auto client = gateway::ControlClient::connect(socket);
  if (!client) {
    std::cerr << "bulwarkctl: " << client.error().message << " (use --direct to work without the daemon)\n";
    return {};
  }
  auto reply = client->call(op, std::move(args));
  if (!reply) {
    std::cerr << "bulwarkctl: " << reply.error().message << '\n';
    return {};
  }
  return {true, std::move(*reply)};
}

int printDaemonError(const nlohmann::json& reply) {
  const auto& err = reply.contains("error") ? reply["error"] : nlohmann::json::object();
  if (err.contains("diagnostics") && err["diagnostics"].is_array()) {
    for (const auto& d : err["diagnostics"]) std::cerr << d.get<std::string>() << '\n';
  }
  std::cerr << "bulwarkctl: bulwarkd: " << err.value("message", std::string("request failed")) << '\n';
  return err.value("code", std::string()) == "bad_request" ? kExitUsage : kExitInvalid;
}

}  // namespace bulwark::cli
