#include "vici_success_verbs.h"

#include <string>

namespace bulwark::vpn::vici {

ViciStatus callForSuccess(ViciClient& c, std::string_view command, const Message& request, std::string_view what,
                          int timeoutMs) {
  auto r = c.call(command, request, timeoutMs);
  if (!r) {
    return r.error();
  }
  return checkSuccess(*r, what);
}

ViciStatus loadNamed(ViciClient& c, std::string_view command, std::string_view name, const Section& body) {
  Message req;
  req.addSection(std::string(name)) = body;
  return callForSuccess(c, command, req, std::string(command) + " " + std::string(name));
}

ViciStatus unloadNamed(ViciClient& c, std::string_view command, std::string_view name) {
  Message req;
  req.add("name", std::string(name));
  return callForSuccess(c, command, req, std::string(command) + " " + std::string(name));
}

ViciStatus controlSa(ViciClient& c, std::string_view command, Message request, int timeoutMs, std::string_view what) {
  request.add("timeout", std::to_string(timeoutMs));
  request.add("loglevel", "-1");
  // Wait a little longer than charon does, so its own timeout answer reaches us.
  const int wait = timeoutMs > 0 ? timeoutMs + 5000 : 0;
  return callForSuccess(c, command, request, what, wait);
}

}  // namespace bulwark::vpn::vici
