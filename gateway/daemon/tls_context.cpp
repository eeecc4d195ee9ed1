#include "tls_context.h"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <memory>

#include "bulwark/pki/pki.h"

namespace bulwark::daemon {

namespace {

// "what: <OpenSSL's error queue>" (the queue is emptied).
gateway::Error sslError(const std::string& what) { return gateway::Error{ossl::withQueue(what)}; }

gateway::Result<ossl::BioPtr> openRead(const std::filesystem::path& p) {
  ossl::BioPtr bio(BIO_new_file(p.c_str(), "r"));
  if (!bio) {
    ERR_clear_error();
    return gateway::sysError("cannot read " + p.string(), errno);
  }
  return bio;
}

std::string entryText(X509_NAME_ENTRY* e) {
  unsigned char* raw = nullptr;
  int n = ASN1_STRING_to_UTF8(&raw, X509_NAME_ENTRY_get_data(e));
  ossl::BytesPtr owned(raw);
  if (n < 0 || raw == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(raw), static_cast<std::size_t>(n));
}

}  // namespace

TlsFiles tlsFilesOfPki(const std::filesystem::path& pkiDir) {
  return TlsFiles{pki::caCertPath(pkiDir), pki::gatewayCertPath(pkiDir), pki::gatewayKeyPath(pkiDir), pki::crlPath(pkiDir)};
}

gateway::Result<SslCtxPtr> makeServerContext(const TlsFiles& files) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return sslError("SSL_CTX_new");
  if (SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION) != 1) {
    return sslError("TLS 1.3 only");
  }
  // Full handshakes only (see the header): no tickets, no server-side session cache.
  SSL_CTX_set_num_tickets(ctx.get(), 0);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
  // Our output buffer is a std::string that grows while a write is pending.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

  if (SSL_CTX_use_certificate_chain_file(ctx.get(), files.serverCert.c_str()) != 1) {
    return sslError("server certificate " + files.serverCert.string());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), files.serverKey.c_str(), SSL_FILETYPE_PEM) != 1) {
    return sslError("server key " + files.serverKey.string());
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) return sslError("server key does not match its certificate");

  // The trust store: Bulwark's CA and its CRL, nothing else.
  ossl::StorePtr store(X509_STORE_new());
  if (!store) return sslError("X509_STORE_new");
  auto caBio = openRead(files.caCert);
  if (!caBio) return caBio.error();
  ossl::X509Ptr ca(PEM_read_bio_X509(caBio->get(), nullptr, nullptr, nullptr));
  if (!ca) return sslError("CA certificate " + files.caCert.string());
  if (X509_STORE_add_cert(store.get(), ca.get()) != 1) return sslError("adding the CA certificate");
  auto crlBio = openRead(files.crl);
  if (!crlBio) return crlBio.error();
  ossl::CrlPtr crl(PEM_read_bio_X509_CRL(crlBio->get(), nullptr, nullptr, nullptr));
  if (!crl) return sslError("CRL " + files.crl.string());
  if (X509_STORE_add_crl(store.get(), crl.get()) != 1) return sslError("adding the CRL");
  if (X509_STORE_set_flags(store.get(), X509_V_FLAG_CRL_CHECK | X509_V_FLAG_X509_STRICT) != 1 ||
      X509_STORE_set_purpose(store.get(), X509_PURPOSE_SSL_CLIENT) != 1 || X509_STORE_set_depth(store.get(), 2) != 1) {
    return sslError("trust store flags");
  }
  SSL_CTX_set_cert_store(ctx.get(), store.release());  // owned by the context now

  // Tell clients which CA we accept (OpenSSL and Qt clients pick their certificate by it).
  STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
  X509_NAME* caName = names ? X509_NAME_dup(X509_get_subject_name(ca.get())) : nullptr;
  if (names == nullptr || caName == nullptr || sk_X509_NAME_push(names, caName) == 0) {
    X509_NAME_free(caName);
    sk_X509_NAME_pop_free(names, X509_NAME_free);
    return sslError("client CA list");
  }
  SSL_CTX_set_client_CA_list(ctx.get(), names);  // owned by the context now

  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT | SSL_VERIFY_CLIENT_ONCE, nullptr);
  return ctx;
}

gateway::Status verifyPeerAgain(SSL_CTX* ctx, SSL* ssl, std::optional<std::time_t> at) {
  X509* leaf = SSL_get0_peer_certificate(ssl);
  if (leaf == nullptr) return gateway::Error{"no client certificate"};
  // The certificates the client sent besides its own (none from `bulwarkctl pki`: the CA is
  // the trust anchor; on the server side the list does not include the leaf).
  STACK_OF(X509)* sent = SSL_get_peer_cert_chain(ssl);
  ossl::StoreCtxPtr sc(X509_STORE_CTX_new());
  if (!sc || X509_STORE_CTX_init(sc.get(), SSL_CTX_get_cert_store(ctx), leaf, sent) != 1) {
    return sslError("X509_STORE_CTX_init");
  }
  // As libssl does for a client certificate: the store's flags (CRL check, strict), purpose
  // and depth are inherited by the init above; "ssl_client" fills in the trust setting.
  if (X509_STORE_CTX_set_default(sc.get(), "ssl_client") != 1) return sslError("X509_STORE_CTX_set_default");
  if (at) X509_STORE_CTX_set_time(sc.get(), 0, *at);
  if (X509_verify_cert(sc.get()) == 1) return gateway::okStatus();
  ERR_clear_error();
  return gateway::Error{X509_verify_cert_error_string(X509_STORE_CTX_get_error(sc.get()))};
}

std::optional<std::time_t> crlNextUpdate(const TlsFiles& files) {
  auto bio = openRead(files.crl);
  if (!bio) return std::nullopt;
  ossl::CrlPtr crl(PEM_read_bio_X509_CRL(bio->get(), nullptr, nullptr, nullptr));
  const ASN1_TIME* next = crl ? X509_CRL_get0_nextUpdate(crl.get()) : nullptr;
  struct tm tm {};
  if (next == nullptr || ASN1_TIME_to_tm(next, &tm) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  return ::timegm(&tm);
}

std::optional<CertIdentity> certIdentity(X509* cert) {
  if (cert == nullptr) return std::nullopt;
  X509_NAME* subject = X509_get_subject_name(cert);
  if (subject == nullptr || X509_NAME_entry_count(subject) != 2) return std::nullopt;
  CertIdentity id;
  int cn = 0, ou = 0;
  for (int i = 0; i < X509_NAME_entry_count(subject); ++i) {
    X509_NAME_ENTRY* e = X509_NAME_get_entry(subject, i);
    int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
    if (nid == NID_commonName) {
      ++cn;
      id.cn = entryText(e);
    } else if (nid == NID_organizationalUnitName) {
      ++ou;
      id.group = entryText(e);
    }
  }
  if (cn != 1 || ou != 1 || id.cn.empty() || id.group.empty()) return std::nullopt;
  ossl::BnPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (bn) {
    ossl::StringPtr hex(BN_bn2hex(bn.get()));
    if (hex) id.serial = hex.get();
  }
  return id;
}

gateway::Role roleForCertificate(const std::optional<CertIdentity>& id, const CertRoles& roles) {
  if (!id || id->group.empty()) return gateway::Role::None;
  if (id->group == gateway::kPeerGroup) {
    return !roles.peerNode.empty() && id->cn == roles.peerNode ? gateway::Role::Peer : gateway::Role::None;
  }
  if (roles.change.count(id->group) != 0) return gateway::Role::Change;
  if (roles.view.count(id->group) != 0) return gateway::Role::View;
  return gateway::Role::None;
}

std::vector<TlsContextSource::Stamp> TlsContextSource::stamps() const {
  std::vector<Stamp> out;
  for (const auto* p : {&files_.caCert, &files_.serverCert, &files_.serverKey, &files_.crl}) {
    struct stat st {};
    Stamp s;
    if (::stat(p->c_str(), &st) == 0) {
      s.ino = st.st_ino;
      s.size = st.st_size;
      s.mtimeNs = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
    }
    out.push_back(s);
  }
  return out;
}

gateway::Result<SSL_CTX*> TlsContextSource::current() {
  auto now = stamps();
  if (loads_ > 0 && now == loadedStamps_) {
    if (ctx_) return ctx_.get();
    return gateway::Error{lastError_};
  }
  ++loads_;
  loadedStamps_ = now;
  auto made = makeServerContext(files_);
  if (!made) {
    // Fail closed: the old context would accept a certificate the new CRL revokes.
    ctx_.reset();
    crlNextUpdate_.reset();
    lastError_ = made.error().message;
    return made.error();
  }
  ctx_ = std::move(*made);
  crlNextUpdate_ = daemon::crlNextUpdate(files_);
  lastError_.clear();
  return ctx_.get();
}

}  // namespace bulwark::daemon
