// libFuzzer target: the VICI decoder (bytes from charon's socket are untrusted).
// Invariants: decoding never crashes, hangs or leaks; whatever decodes re-encodes, and the
// re-encoded bytes decode to the same tree (the decoder accepts only what the encoder writes).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bulwark/vpn/vici_message.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace bulwark::vpn;
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  auto msg = decodeMessage(in);
  if (msg) {
    auto again = encodeMessage(*msg);
    if (!again || *again != in) {
      __builtin_trap();  // a valid message must re-encode to the very same bytes
    }
  }

  auto packet = decodePacket(in);
  if (packet) {
    auto bytes = encodePacket(*packet);
    if (!bytes) {
      __builtin_trap();
    }
    auto round = decodePacket(*bytes);
    if (!round || round->type != packet->type || round->name != packet->name || !(round->message == packet->message)) {
      __builtin_trap();
    }
  }
  return 0;
}
