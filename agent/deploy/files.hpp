#pragma once
// Atomic file installation: write a temp file in the same directory, fsync, rename over the
// target, fsync the directory. The previous version is kept as NAME.prev.

#include <string>
#include <sys/types.h>
#include <vector>

#include "acme/result.hpp"

namespace agent {

// Creates dir and its missing parents with the given mode (existing ones are left as is).
acme::Result<void> make_dirs(const std::string& dir, mode_t mode);

// Replaces path atomically with data at mode (applied before the rename, so the file is
// never visible with a wider mode). fsyncs the file and its directory.
acme::Result<void> atomic_write(const std::string& path, const std::string& data, mode_t mode);

// Reads a whole file; kIo naming the path when it cannot.
acme::Result<std::string> read_file(const std::string& path);

struct FileSpec {
  std::string name;  // "cert.pem"
  std::string data;
  mode_t mode = 0644;
};

// Installs a set of files into dir: every new file is written and synced first, existing
// files are kept as NAME.prev (hard links, so no copy can be half-written), then the new
// files are renamed into place one after another and the directory synced. A failure
// before the renames leaves the old set untouched.
acme::Result<void> install_files(const std::string& dir, const std::vector<FileSpec>& files);

// Installs a certificate's files as one unit: OUT/NAME is a symlink to a version directory
// OUT/.NAME.d/vN holding every file. The new version is written and synced completely, then
// the symlink is replaced with one rename(2), so a crash at any instant leaves OUT/NAME
// pointing at either the whole old set or the whole new set. The previous version stays
// (OUT/.NAME.d/vN-1, also reachable as OUT/NAME/../.NAME.d); older ones are removed.
// An OUT/NAME that is still a plain directory (older layout) is moved aside first.
acme::Result<void> install_certificate_files(const std::string& out_root, const std::string& name,
                                             const std::vector<FileSpec>& files);

}  // namespace agent
