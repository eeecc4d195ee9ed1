#pragma once
// One function per bulwarkctl verb. Exit codes: 0 ok, 1 invalid policy (or, for
// `fmt --check`, files not in canonical form), 2 usage or I/O error.
#include <string>

namespace bulwark::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitInvalid = 1;
inline constexpr int kExitUsage = 2;

struct GlobalOptions {
  bool json = false;
  bool werror = false;  // warnings count as errors
};

int runValidate(const std::string& path, const GlobalOptions& opts);
int runFmt(const std::string& path, bool check, const GlobalOptions& opts);
int runShow(const std::string& path, const GlobalOptions& opts);
int runTest(const std::string& path, const GlobalOptions& opts);
int runRender(const std::string& path, const GlobalOptions& opts);

struct WhyArgs {
  std::string policy;
  std::string src;      // address, or a host/segment/zone/VPN group name
  std::string dst;
  std::string service;  // tcp/443, udp/53, icmp
  std::string iif;      // override the ingress interface
  bool libipsec = false;  // a VPN source arriving on charon's userspace-ESP TUN
};
int runWhy(const WhyArgs& args, const GlobalOptions& opts);

}  // namespace bulwark::cli
