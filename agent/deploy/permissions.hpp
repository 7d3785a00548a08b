#pragma once
// Permission checks on files acmectl trusts (issue 13, finding 3). Like OpenSSH's
// sshkey_perm_ok / safe_path: a private key that others can read, or a state directory,
// database or hook program that others can write, is refused with one line naming the path,
// its mode and its owner, instead of being used without a word.
//
// Contract:
//  - Every check MUST follow a symlink at `path` (the file used is the target) and MUST NOT
//    change anything on disk.
//  - Owners accepted: the effective user running acmectl, and root (root can replace any
//    file anyway; a root-owned 0600 key is unreadable to others).
//  - `what` names the file's role in the message: "account key", "state dir", "hook".

#include <sys/types.h>

#include <string>
#include <string_view>

#include "acme/result.hpp"

namespace agent {

// A private key (account key, certificate key): a regular file, owned by the running user
// (or root), with no permission bits for group or others. Errors, e.g.:
//   "account key /s/accounts/x/account.key has mode 0644: it must not be readable by
//    others (chmod 600)"
acme::Result<void> check_private_file(const std::string& path, std::string_view what);

// A state dir, database or hook file: not writable by group or others, and owned by the
// running user or root. Errors, e.g.:
//   "state dir /var/lib/acmectl has mode 0777: it must not be writable by others
//    (chmod go-w)"
//   "database /s/acmectl.db is owned by uid 65534, not by uid 0 who runs acmectl"
acme::Result<void> check_not_writable_by_others(const std::string& path, std::string_view what);

// The file execvp(3) would run for `program`: as given when it contains a '/', otherwise
// the first executable regular file named `program` in $PATH (or the default path when
// PATH is unset). kInvalidInput naming the program when there is none.
acme::Result<std::string> resolve_program(const std::string& program);

// A hook command as the hook runner runs it (agent/hooks/hook_runner.hpp): the program it
// executes (its first word, resolved through $PATH; /bin/sh for a command with shell
// syntax, plus its first word when that is an existing path) and that program's directory
// must pass check_not_writable_by_others. `what` e.g. "deploy hook".
acme::Result<void> check_hook_command(const std::string& command, std::string_view what);

// "0644": a mode's permission bits as chmod(1) writes them.
std::string octal_mode(mode_t mode);

}  // namespace agent
