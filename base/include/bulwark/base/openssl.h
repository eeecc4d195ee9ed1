#pragma once
// OpenSSL 3 helpers for every module that uses it (vpn's PKI, bulwarkd's TLS listener, the
// control API's TLS client): OpenSSL's error queue as text, and one unique_ptr owner per
// OpenSSL object type, so that no caller frees anything by hand.
//
// The error queue is per thread and sticky: callers ERR_clear_error() before a call whose
// failure they want to explain, and errorQueueText() empties it.
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <string_view>

namespace bulwark::ossl {

// Every error on this thread's queue, oldest first, "; "-separated; empties the queue.
// Empty when the queue was.
[[nodiscard]] inline std::string errorQueueText() {
  std::string msg;
  unsigned long e = 0;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!msg.empty()) msg += "; ";
    msg += buf;
  }
  return msg;
}

// "what: <queue>", or just `what` when the queue is empty.
[[nodiscard]] inline std::string withQueue(std::string_view what) {
  std::string msg(what);
  auto q = errorQueueText();
  if (!q.empty()) msg += ": " + q;
  return msg;
}

// unique_ptr with an OpenSSL free function as its deleter.
template <auto Fn>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Fn(p);
  }
};
template <typename T, auto Fn>
using Owned = std::unique_ptr<T, Deleter<Fn>>;

using BioPtr = Owned<BIO, BIO_free_all>;
using BnPtr = Owned<BIGNUM, BN_free>;
using PkeyPtr = Owned<EVP_PKEY, EVP_PKEY_free>;
using X509Ptr = Owned<X509, X509_free>;
using CrlPtr = Owned<X509_CRL, X509_CRL_free>;
using NamePtr = Owned<X509_NAME, X509_NAME_free>;
using ExtPtr = Owned<X509_EXTENSION, X509_EXTENSION_free>;
using RevokedPtr = Owned<X509_REVOKED, X509_REVOKED_free>;
using StorePtr = Owned<X509_STORE, X509_STORE_free>;
using StoreCtxPtr = Owned<X509_STORE_CTX, X509_STORE_CTX_free>;
using Asn1IntPtr = Owned<ASN1_INTEGER, ASN1_INTEGER_free>;
using Asn1TimePtr = Owned<ASN1_TIME, ASN1_TIME_free>;
using P12Ptr = Owned<PKCS12, PKCS12_free>;
using MdCtxPtr = Owned<EVP_MD_CTX, EVP_MD_CTX_free>;
using SslCtxPtr = Owned<SSL_CTX, SSL_CTX_free>;
using SslPtr = Owned<SSL, SSL_free>;

namespace detail {
inline void freeX509StackShallow(STACK_OF(X509) * s) { sk_X509_free(s); }  // elements not owned
inline void freeX509Stack(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }
inline void freeString(char* s) { OPENSSL_free(s); }
inline void freeBytes(unsigned char* s) { OPENSSL_free(s); }
}  // namespace detail
using X509StackPtr = Owned<STACK_OF(X509), detail::freeX509StackShallow>;
using X509StackOwnPtr = Owned<STACK_OF(X509), detail::freeX509Stack>;
using StringPtr = Owned<char, detail::freeString>;       // OPENSSL_free'd text (BN_bn2hex, ...)
using BytesPtr = Owned<unsigned char, detail::freeBytes>;  // OPENSSL_free'd bytes (ASN1_STRING_to_UTF8)

}  // namespace bulwark::ossl
