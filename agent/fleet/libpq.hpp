#pragma once
// libpq, loaded at run time. Only a fleet ([store] url = "postgresql://...") talks to
// PostgreSQL, yet linking libpq.so.5 made every acmectl process -- `acmectl --version`, a
// one-shot `issue` -- map and relocate 20 more shared libraries (libpq pulls in Kerberos,
// LDAP, SASL and GnuTLS). So acmectl does not link it: the first fleet store to open
// loads libpq.so.5 with dlopen and resolves the functions below; everything else never
// touches it. libpq-fe.h is included for its types and declarations only.
//
// Call through pq::fn().PQexec(...) etc. after pq::load() succeeded once.

#include <libpq-fe.h>

#include "acme/result.hpp"

namespace agent::pq {

struct Api {
#define ACMECTL_PQ_FUNCTIONS(X) \
  X(PQclear)                    \
  X(PQcmdTuples)                \
  X(PQconnectdbParams)          \
  X(PQconsumeInput)             \
  X(PQerrorMessage)             \
  X(PQexec)                     \
  X(PQexecParams)               \
  X(PQfinish)                   \
  X(PQfreemem)                  \
  X(PQgetisnull)                \
  X(PQgetlength)                \
  X(PQgetvalue)                 \
  X(PQnfields)                  \
  X(PQnotifies)                 \
  X(PQntuples)                  \
  X(PQresultErrorMessage)       \
  X(PQresultStatus)             \
  X(PQsetNoticeProcessor)       \
  X(PQsocket)                   \
  X(PQstatus)
#define ACMECTL_PQ_MEMBER(name) decltype(&::name) name = nullptr;
  ACMECTL_PQ_FUNCTIONS(ACMECTL_PQ_MEMBER)
#undef ACMECTL_PQ_MEMBER
};

// Loads libpq.so.5 once (thread-safe); later calls return the first outcome. The error
// names the library and the Debian package that ships it.
acme::Result<void> load();

// The loaded functions. Only after load() succeeded (aborts otherwise: a programming error).
const Api& fn();

}  // namespace agent::pq
