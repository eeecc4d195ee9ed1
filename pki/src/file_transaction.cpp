// The PKI's all-or-nothing file writes (see file_transaction.h).
#include "file_transaction.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <cerrno>
#include <set>
#include <utility>

#include "internal.h"

namespace bulwark::pki::detail {

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

// <dir>/.<name>.<pid>.<what>: hidden, beside the target (same filesystem, so link and rename
// are atomic), unique per process; a leftover of a crashed run of this pid is ours to remove
// (the directory lock is held).
fs::path sidePath(const fs::path& target, const char* what) {
  return target.parent_path() / ("." + target.filename().string() + "." + std::to_string(::getpid()) + "." + what);
}

Status writeTemp(const fs::path& tmp, mode_t mode, std::optional<gid_t> group,
                 const std::string& data) {
  ::unlink(tmp.c_str());
  // With a group: the owner's bits only until the file belongs to that group.
  const mode_t createMode = group ? (mode & 0700) : mode;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, createMode);
  if (fd < 0) {
    return ioError("cannot create", tmp, errno);
  }
  Fd owner(fd);
  Status st = Ok{};
  if (group && ::fchown(fd, static_cast<uid_t>(-1), *group) != 0) {
    st = ioError("cannot give to the group of its directory", tmp, errno);
  }
  // The mode exactly, whatever the umask: bulwark-crl.service runs with UMask=0077, and a
  // crl.pem or certificate it left 0600 would be unreadable for bulwarkd's own user.
  if (st && ::fchmod(fd, mode) != 0) {
    st = ioError("cannot set the mode of", tmp, errno);
  }
  if (st) {
    st = writeAll(fd, data.data(), data.size(), tmp);
  }
  if (st && ::fsync(fd) != 0) {
    st = ioError("cannot sync", tmp, errno);
  }
  if (!st) {
    ::unlink(tmp.c_str());
  }
  return st;
}

void syncDir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);  // durability of the new names; the change itself is already complete
    ::close(fd);
  }
}

}  // namespace

FileTransaction::~FileTransaction() {
  if (!done_) {
    undo();
  }
  for (auto& f : files_) {
    OPENSSL_cleanse(f.data.data(), f.data.size());
  }
}

void FileTransaction::create(fs::path path, mode_t mode, std::string data,
                             std::optional<gid_t> group) {
  files_.push_back(File{std::move(path), mode, group, std::move(data), false, {}, {}, false});
}

void FileTransaction::replace(fs::path path, mode_t mode, std::string data,
                              std::optional<gid_t> group) {
  files_.push_back(File{std::move(path), mode, group, std::move(data), true, {}, {}, false});
}

void FileTransaction::discardOnFailure(fs::path path) { discard_.push_back(std::move(path)); }

Status FileTransaction::commit() {
  for (auto& f : files_) {
    fs::path tmp = sidePath(f.path, "tmp");
    if (Status st = writeTemp(tmp, f.mode, f.group, f.data); !st) {
      undo();
      return st;
    }
    f.tmp = std::move(tmp);
  }
  for (auto& f : files_) {
    if (f.replace) {
      fs::path backup = sidePath(f.path, "old");
      ::unlink(backup.c_str());
      if (::link(f.path.c_str(), backup.c_str()) == 0) {
        f.backup = std::move(backup);
      } else if (errno != ENOENT) {
        Status st = ioError("cannot keep the previous", f.path, errno);
        undo();
        return st;
      }
      if (::rename(f.tmp.c_str(), f.path.c_str()) != 0) {
        Status st = ioError("cannot rename into", f.path, errno);
        undo();
        return st;
      }
    } else {
      if (::link(f.tmp.c_str(), f.path.c_str()) != 0) {
        int err = errno;
        Status st = err == EEXIST ? Status(PkiError{PkiErrorKind::Conflict,
                                                    f.path.string() + " already exists; refusing to overwrite it", err})
                                  : Status(ioError("cannot create", f.path, err));
        undo();
        return st;
      }
      ::unlink(f.tmp.c_str());
    }
    f.tmp.clear();
    f.moved = true;
  }
  std::set<fs::path> dirs;
  for (auto& f : files_) {
    if (!f.backup.empty()) {
      ::unlink(f.backup.c_str());
    }
    dirs.insert(f.path.parent_path());
  }
  for (const auto& d : dirs) {
    syncDir(d);
  }
  done_ = true;
  return Ok{};
}

void FileTransaction::undo() {
  for (auto it = files_.rbegin(); it != files_.rend(); ++it) {
    if (!it->tmp.empty()) {
      ::unlink(it->tmp.c_str());
      it->tmp.clear();
    }
    if (it->moved) {
      if (!it->backup.empty()) {
        ::rename(it->backup.c_str(), it->path.c_str());
      } else {
        ::unlink(it->path.c_str());
      }
      it->moved = false;
    } else if (!it->backup.empty()) {
      ::unlink(it->backup.c_str());
    }
    it->backup.clear();
  }
  for (auto it = discard_.rbegin(); it != discard_.rend(); ++it) {
    ::remove(it->c_str());  // unlink, or rmdir of a directory left empty
  }
  done_ = true;
}

}  // namespace bulwark::pki::detail
