#pragma once
// The shapes the verbs whose reply is nothing but `success` and `errmsg` share (load-*,
// unload-*, flush-certs, initiate, terminate): send the request, keep a transport failure a
// Transport error, turn `success = no` into a Command error named `what`. Each verb keeps its
// own file (vici_cmd_<verb>.cpp) and says only what it asks for.
#include <string_view>

#include "bulwark/vpn/vici_commands.h"

namespace bulwark::vpn::vici {

// call() then checkSuccess(); timeoutMs 0 = the client's own wait.
[[nodiscard]] ViciStatus callForSuccess(ViciClient& c, std::string_view command, const Message& request,
                                        std::string_view what, int timeoutMs = 0);

// load-conn, load-pool: `{ <name> = { body } }`, refused as "<command> <name>".
[[nodiscard]] ViciStatus loadNamed(ViciClient& c, std::string_view command, std::string_view name, const Section& body);
// unload-conn, unload-pool: `{ name = <name> }`, refused as "<command> <name>".
[[nodiscard]] ViciStatus unloadNamed(ViciClient& c, std::string_view command, std::string_view name);

// initiate, terminate: `request` plus charon's own wait (timeout = timeoutMs, 0 = forever,
// -1 = don't wait) and no log events streamed back (loglevel = -1).
[[nodiscard]] ViciStatus controlSa(ViciClient& c, std::string_view command, Message request, int timeoutMs,
                                   std::string_view what);

}  // namespace bulwark::vpn::vici
