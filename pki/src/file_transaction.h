#pragma once
// All of a PKI change's files appear, or none of them: the issuance transaction's last step.
#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/pki/pki.h"

namespace bulwark::pki::detail {

struct Ok {};
using Status = PkiResult<Ok>;

// Files are staged in memory, then commit() writes each to a temporary file beside its target
// (created O_EXCL with its final mode, so a key is never readable by others, then fsync'd; a
// file with a `group` is created 0600 and given to that group before its mode opens to it; the
// mode is set exactly, the umask does not narrow it),
// and only when every temporary is written moves them into place in the order they were
// staged: link(2) for create() (refuses an existing target atomically), rename(2) for
// replace() (the old file kept as a hard link until the end). Stage the index last: it is the
// commit point that makes the new certificate known.
// Any failure removes the temporaries, takes back the moves already done (restoring replaced
// files) and removes what discardOnFailure() named: the change leaves nothing behind. The
// staged bytes (keys, PKCS#12) are wiped when the transaction ends.
class FileTransaction {
 public:
  FileTransaction() = default;
  FileTransaction(const FileTransaction&) = delete;
  FileTransaction& operator=(const FileTransaction&) = delete;
  ~FileTransaction();

  // `group`: the file's group (e.g. bulwarkd's, for the gateway key at 0640); none: the
  // caller's.
  void create(std::filesystem::path path, mode_t mode, std::string data,
              std::optional<gid_t> group = std::nullopt);
  void replace(std::filesystem::path path, mode_t mode, std::string data,
               std::optional<gid_t> group = std::nullopt);
  // A file or (empty) directory this change made before commit (e.g. the bundle directory):
  // removed, in reverse order, when the change fails or is abandoned.
  void discardOnFailure(std::filesystem::path path);

  [[nodiscard]] Status commit();

 private:
  struct File {
    std::filesystem::path path;
    mode_t mode = 0644;
    std::optional<gid_t> group;
    std::string data;
    bool replace = false;
    std::filesystem::path tmp;     // set once written
    std::filesystem::path backup;  // replace(): the previous file, hard-linked
    bool moved = false;
  };
  void undo();

  std::vector<File> files_;
  std::vector<std::filesystem::path> discard_;
  bool done_ = false;
};

}  // namespace bulwark::pki::detail
