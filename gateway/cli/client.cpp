#include "client.h"

#include <sys/stat.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>

#include "bulwark/gateway/control_client.h"
#include "bulwark/policies/source_files.h"

namespace bulwark::cli {

namespace {

constexpr const char* kTlsScheme = "tls://";

// One bulwarkctl run talks to one daemon; the options are set once while parsing the
// command line (configureRemote) and read when connecting.
RemoteOptions& remote() {
  static RemoteOptions r;
  return r;
}

std::string flagOrEnv(const std::string& flag, const char* env) {
  if (!flag.empty()) return flag;
  const char* v = std::getenv(env);
  return v != nullptr ? v : "";
}

}  // namespace

void configureRemote(const RemoteOptions& flags) {
  RemoteOptions r;
  r.connect = flagOrEnv(flags.connect, "BULWARK_CONNECT");
  r.cert = flagOrEnv(flags.cert, "BULWARK_CERT");
  r.key = flagOrEnv(flags.key, "BULWARK_KEY");
  r.ca = flagOrEnv(flags.ca, "BULWARK_CA");
  r.serverName = flagOrEnv(flags.serverName, "BULWARK_SERVER_NAME");
  r.passwordFile = flags.passwordFile;
  remote() = r;
}

gateway::Result<gateway::ControlClient> connectDaemon(const std::string& address) {
  if (address.rfind(kTlsScheme, 0) != 0) return gateway::ControlClient::connect(address);
  const auto& r = remote();
  gateway::TlsClientOptions o;
  std::string hostPort = address.substr(std::strlen(kTlsScheme));
  auto colon = hostPort.rfind(':');
  if (colon == std::string::npos || colon + 1 == hostPort.size()) {
    return gateway::Error{"--connect wants HOST:PORT ([ADDRESS]:PORT for IPv6), got '" + hostPort + "'"};
  }
  o.host = hostPort.substr(0, colon);
  if (o.host.size() > 2 && o.host.front() == '[' && o.host.back() == ']') o.host = o.host.substr(1, o.host.size() - 2);
  unsigned long port = 0;
  auto portText = hostPort.substr(colon + 1);
  auto [end, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
  if (ec != std::errc() || end != portText.data() + portText.size() || port == 0 || port > 65535) {
    return gateway::Error{"--connect: bad port '" + portText + "'"};
  }
  o.port = static_cast<std::uint16_t>(port);
  if (r.cert.empty()) return gateway::Error{"--connect needs --cert (an admin's .p12 from `bulwarkctl pki issue`)"};
  o.cert = r.cert;
  o.key = r.key;
  o.ca = r.ca;
  o.serverName = r.serverName;
  if (!r.passwordFile.empty()) {
    std::ifstream in(r.passwordFile);
    if (!in) return gateway::Error{"cannot read " + r.passwordFile};
    std::getline(in, o.password);
  } else if (const char* pw = std::getenv("BULWARK_CERT_PASSWORD"); pw != nullptr) {
    o.password = pw;
  }
  return gateway::ControlClient::connectTls(o);
}

std::string daemonSocketPath(const std::string& flag) {
  if (!remote().connect.empty()) return kTlsScheme + remote().connect;
  if (!flag.empty()) return flag;
  const char* env = std::getenv("BULWARK_SOCKET");
  return env && *env ? env : gateway::kDefaultSocketPath;
}

bool daemonSocketExists(const std::string& path) {
  if (path.rfind(kTlsScheme, 0) == 0) return true;
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

std::optional<nlohmann::json> policySources(const std::string& path) {
  // Read here, with the caller's rights (the daemon never opens a path a client names):
  // regular files only, within the protocol's bounds.
  auto read = policies::readPolicySources(path);
  if (!read.ok()) {
    std::cerr << read.error << '\n';
    return std::nullopt;
  }
  nlohmann::json sources = nlohmann::json::array();
  for (auto& s : read.sources) sources.push_back({{"name", std::move(s.name)}, {"text", std::move(s.text)}});
  return sources;
}

DaemonReply callDaemon(const std::string& socket, const std::string& op, nlohmann::json args) {
  auto client = connectDaemon(socket);
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
