// The PKCS#12 password generator.
#include <openssl/rand.h>

#include "internal.h"

namespace bulwark::pki::detail {

PkiResult<std::string> generatePassword() {
  // 32 symbols (no l, o, 0, 1), so 256 % 32 == 0: no modulo bias. 20 symbols = 100 bits.
  static constexpr char kAlphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";
  static_assert(sizeof kAlphabet - 1 == 32);
  unsigned char bytes[20];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    return cryptoError("RAND_bytes");
  }
  std::string out;
  for (std::size_t i = 0; i < sizeof bytes; ++i) {
    if (i > 0 && i % 5 == 0) {
      out += '-';
    }
    out += kAlphabet[bytes[i] % 32];
  }
  OPENSSL_cleanse(bytes, sizeof bytes);
  return out;
}

}  // namespace bulwark::pki::detail
