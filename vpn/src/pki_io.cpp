// PKI files: secrets are created with their final mode by open(2) itself (O_EXCL, 0600),
// public files are replaced atomically, the directory is locked while it changes.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "pki_internal.h"

namespace bulwark::vpn::pki {

const char* pkiErrorKindName(PkiErrorKind k) {
  switch (k) {
    case PkiErrorKind::Io: return "io";
    case PkiErrorKind::Crypto: return "crypto";
    case PkiErrorKind::Invalid: return "invalid";
    case PkiErrorKind::Conflict: return "conflict";
    case PkiErrorKind::NotFound: return "not-found";
  }
  return "unknown";
}

std::string PkiError::str() const { return message; }

namespace detail {

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

PkiError makeError(PkiErrorKind kind, std::string message) {
  return PkiError{kind, std::move(message), 0};
}

PkiError cryptoError(std::string_view what) {
  return PkiError{PkiErrorKind::Crypto, ossl::withQueue(what), 0};
}

PkiError ioError(std::string_view what, const fs::path& path, int err) {
  return PkiError{PkiErrorKind::Io, std::string(what) + " " + path.string() + ": " + std::strerror(err), err};
}

bool pathExists(const fs::path& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

Status makeDir(const fs::path& path, mode_t mode, bool mustBePrivate) {
  if (::mkdir(path.c_str(), mode) == 0) {
    return Ok{};
  }
  int err = errno;
  if (err != EEXIST) {
    return ioError("cannot create directory", path, err);
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return ioError("cannot stat", path, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return makeError(PkiErrorKind::Io, path.string() + " exists and is not a directory");
  }
  // 0710 is private too: the group may open a file it knows the name of (bulwarkd's group:
  // the gateway key, see gatewayKeyReaders), but not list the directory or read ca.key.
  if (mustBePrivate && (((st.st_mode & 077) != 0 && (st.st_mode & 077) != 010) || st.st_uid != ::geteuid())) {
    return makeError(PkiErrorKind::Io, path.string() +
                                           " must be a directory of the current user with mode 0700 or 0710 (it "
                                           "holds keys)");
  }
  return Ok{};
}

namespace {

Status writeAll(int fd, const char* data, std::size_t len, const fs::path& path) {
  while (len > 0) {
    ssize_t n = ::write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return ioError("cannot write", path, errno);
    }
    data += n;
    len -= static_cast<std::size_t>(n);
  }
  return Ok{};
}

PkiResult<Fd> openExclusive(const fs::path& path, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) {
    int err = errno;
    if (err == EEXIST) {
      return PkiError{PkiErrorKind::Conflict, path.string() + " already exists; refusing to overwrite it", err};
    }
    return ioError("cannot create", path, err);
  }
  return Fd(fd);
}

Status finish(Fd& fd, const fs::path& path) {
  if (::fsync(fd.get()) != 0) {
    return ioError("cannot sync", path, errno);
  }
  return Ok{};
}

// Write what `emit` puts into a memory BIO to a new file, wiping the buffer afterwards.
// `group`: the file is given to that group with mode 0640 before a byte is written.
template <typename Emit>
Status createFromBio(const fs::path& path, mode_t mode, Emit emit, std::optional<gid_t> group = std::nullopt) {
  BioPtr mem(BIO_new(BIO_s_mem()));
  if (!mem) {
    return cryptoError("BIO_new");
  }
  if (!emit(mem.get())) {
    return cryptoError("encoding " + path.filename().string());
  }
  BUF_MEM* buf = nullptr;
  BIO_get_mem_ptr(mem.get(), &buf);
  auto fd = openExclusive(path, mode);
  if (!fd) {
    OPENSSL_cleanse(buf->data, buf->length);
    return fd.error();
  }
  if (group && (::fchown(fd->get(), static_cast<uid_t>(-1), *group) != 0 || ::fchmod(fd->get(), 0640) != 0)) {
    int err = errno;
    OPENSSL_cleanse(buf->data, buf->length);
    ::unlink(path.c_str());
    return ioError("cannot give to the group of its directory", path, err);
  }
  Status st = writeAll(fd->get(), buf->data, buf->length, path);
  OPENSSL_cleanse(buf->data, buf->length);
  if (st) {
    st = finish(*fd, path);
  }
  if (!st) {
    ::unlink(path.c_str());
  }
  return st;
}

}  // namespace

Status createExclusive(const fs::path& path, mode_t mode, const std::string& data) {
  auto fd = openExclusive(path, mode);
  if (!fd) {
    return fd.error();
  }
  Status st = writeAll(fd->get(), data.data(), data.size(), path);
  if (st) {
    st = finish(*fd, path);
  }
  if (!st) {
    ::unlink(path.c_str());
  }
  return st;
}

Status writeKeyFile(const fs::path& path, EVP_PKEY* key, std::optional<gid_t> readers) {
  return createFromBio(
      path, 0600,
      [key](BIO* b) { return PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr) == 1; },
      readers);
}

std::optional<gid_t> gatewayKeyReaders(const fs::path& dir) {
  struct stat st {};
  if (::lstat((dir / "private").c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return std::nullopt;
  if ((st.st_mode & 077) != 010) return std::nullopt;
  return st.st_gid;
}

Status writeP12File(const fs::path& path, PKCS12* p12) {
  return createFromBio(path, 0600, [p12](BIO* b) { return i2d_PKCS12_bio(b, p12) == 1; });
}

Status writeAtomic(const fs::path& path, mode_t mode, const std::string& data) {
  fs::path tmp = path;
  tmp += ".tmp";
  ::unlink(tmp.c_str());  // a leftover of a crashed run; we hold the directory lock
  Status st = createExclusive(tmp, mode, data);
  if (!st) {
    return st;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ioError("cannot rename into", path, err);
  }
  return Ok{};
}

PkiResult<std::string> readFile(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) {
      return PkiError{PkiErrorKind::NotFound, path.string() + " does not exist", err};
    }
    return ioError("cannot open", path, err);
  }
  Fd owner(fd);
  std::string out;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return ioError("cannot read", path, errno);
    }
    if (n == 0) {
      break;
    }
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > (16u << 20)) {
      return makeError(PkiErrorKind::Io, path.string() + " is too large");
    }
  }
  return out;
}

PkiResult<DirLock> DirLock::acquire(const fs::path& dir) {
  fs::path p = dir / ".lock";
  int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) {
      return PkiError{PkiErrorKind::NotFound,
                      "no PKI in " + dir.string() + " (run `bulwarkctl pki init` first)", err};
    }
    return ioError("cannot open lock file", p, err);
  }
  Fd owner(fd);
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) {
      return ioError("cannot lock", p, errno);
    }
  }
  return DirLock(std::move(owner));
}

Rollback::~Rollback() {
  for (auto it = paths_.rbegin(); it != paths_.rend(); ++it) {
    ::unlink(it->c_str());
  }
}

}  // namespace detail
}  // namespace bulwark::vpn::pki
