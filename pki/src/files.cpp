// PKI files: errors, directories, reading, the directory lock. Writing is file_transaction.cpp.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "internal.h"

namespace bulwark::pki {

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

PkiResult<bool> makeDir(const fs::path& path, mode_t mode, bool mustBePrivate) {
  if (::mkdir(path.c_str(), mode) == 0) {
    return true;
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
                                           " must be a directory of the current user with mode 0700 or 0710 "
                                           "(it holds keys)");
  }
  return false;
}

std::optional<gid_t> gatewayKeyReaders(const fs::path& dir) {
  struct stat st {};
  if (::lstat((dir / "private").c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return std::nullopt;
  if ((st.st_mode & 077) != 010) return std::nullopt;
  return st.st_gid;
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

}  // namespace detail
}  // namespace bulwark::pki
