#pragma once
// Text from outside (a CA's problem detail, a hook's output, a name from the command line)
// is escaped before it reaches a terminal or a log (issue 13 finding 7): an ESC sequence
// could otherwise recolour, retitle or rewrite what an operator reads.

#include <string>
#include <string_view>

namespace acme {

// Returns `text` with every control character written as \xNN (lower-case hex): C0
// (0x00-0x1f, ESC included), DEL (0x7f), C1 (U+0080-U+009F, written as the two bytes of
// its UTF-8 form, "\xc2\x9b") and every byte that is not part of valid UTF-8 (a lone 0x9b
// is CSI on an 8-bit terminal). Printable ASCII and valid UTF-8 above U+009F pass as they
// are; a backslash stays a backslash.
std::string escape_control(std::string_view text);

}  // namespace acme
