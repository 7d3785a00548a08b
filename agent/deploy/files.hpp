#pragma once
// Atomic file installation: write a temp file in the same directory, fsync, rename over the
// target, fsync the directory. The previous version is kept as NAME.prev.

#include <sys/types.h>

#include <string>
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
//
// No link is ever followed below OUT (issue 13 finding 2): OUT is opened once and every
// create, rename and removal is relative to directory descriptors opened with O_NOFOLLOW.
// Refused with kInvalidInput, one line naming the path, its mode and owner, touching
// nothing: an OUT/.NAME.d (or OUT/NAME) that is a link where a directory belongs, is not
// owned by the running user, or is writable by group or others; any link inside
// OUT/.NAME.d. A write that fails for lack of space says which path:
// "no space left on device writing OUT/.NAME.d/v2/.privkey.pem.tmp-... (write)".
acme::Result<void> install_certificate_files(const std::string& out_root, const std::string& name,
                                             const std::vector<FileSpec>& files);

// The versions of a certificate installed by install_certificate_files: the one OUT/NAME
// points at ("vN"; "" when OUT/NAME is not such a link) and the newest older one still kept
// ("" when none), with its directory. Same refusals as install_certificate_files.
struct CertificateVersions {
  std::string current;
  std::string previous;
  std::string previous_dir;  // OUT/.NAME.d/vM
};
acme::Result<CertificateVersions> certificate_versions(const std::string& out_root,
                                                       const std::string& name);

// Points OUT/NAME at the kept version `version` ("vM") with one rename(2) of a new link, as
// an install does (the version directories are left as they are). For `acmectl rollback`.
acme::Result<void> switch_certificate_version(const std::string& out_root, const std::string& name,
                                              const std::string& version);

// The checks install_certificate_files makes before writing, without writing a version:
// call before ordering, so a hostile or read-only output directory fails before the CA is
// asked for anything. Creates OUT if missing and probes that a file can be created in it.
acme::Result<void> check_certificate_files(const std::string& out_root, const std::string& name);

// Removes the temporary files atomic_write leaves in `dir` when the process dies between
// writing and renaming (".BASE.tmp-XXXXXXXXXXXXXXXX", regular files owned by us; links and
// anything else are left alone); with `base`, only those of ".BASE.tmp-". Call it under the
// lock that guards the writes it could race with.
void remove_stale_temp_files(const std::string& dir, const std::string& base = "");

}  // namespace agent
