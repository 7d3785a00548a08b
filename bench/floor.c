/* The floor: what every ACME client must pay for one certificate, and nothing else.
 *
 *   floor HOST PORT CA_FILE [PATH]
 *
 * One P-256 key, ten ES256 signatures (SHA-256 + ECDSA, DER as OpenSSL makes it),
 * one TLS connection to the CA verified against CA_FILE only (with host name
 * check), and eight keep-alive HTTP/1.1 GET requests of PATH (default /dir) on
 * it. No JSON, no JWS encoding, no files, no CSR: OpenSSL 3.0's first algorithm
 * fetches, key generation, signing, certificate parsing and the handshake.
 *
 * Built by bench/build_c.sh (statically against Debian's libssl.a and libcrypto.a),
 * never by the product build. Exit status 0 when all eight responses were 200.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(const char *what) {
  fprintf(stderr, "floor: %s\n", what);
  ERR_print_errors_fp(stderr);
  return 1;
}

/* Reads one response (headers, then Content-Length bytes or a chunked body). */
static int read_response(SSL *ssl, int *status) {
  static char buf[65536];
  size_t have = 0;
  char *end = NULL;
  while (end == NULL) {
    if (have == sizeof(buf) - 1) return -1;
    int n = SSL_read(ssl, buf + have, (int)(sizeof(buf) - 1 - have));
    if (n <= 0) return -1;
    have += (size_t)n;
    buf[have] = '\0';
    end = strstr(buf, "\r\n\r\n");
  }
  if (sscanf(buf, "HTTP/1.1 %d", status) != 1) return -1;
  size_t head = (size_t)(end - buf) + 4;
  long length = -1;
  for (char *p = buf; p < end; p++) {
    if (strncasecmp(p, "\r\ncontent-length:", 17) == 0) length = strtol(p + 17, NULL, 10);
  }
  if (length < 0) {
    /* chunked: read until the terminating zero-length chunk */
    while (strstr(buf + head, "\r\n0\r\n\r\n") == NULL &&
           strncmp(buf + head, "0\r\n\r\n", 5) != 0) {
      if (have == sizeof(buf) - 1) return -1;
      int n = SSL_read(ssl, buf + have, (int)(sizeof(buf) - 1 - have));
      if (n <= 0) return -1;
      have += (size_t)n;
      buf[have] = '\0';
    }
    return 0;
  }
  while (have < head + (size_t)length) {
    char skip[16384];
    int n = SSL_read(ssl, skip, sizeof(skip));
    if (n <= 0) return -1;
    have += (size_t)n;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: floor HOST PORT CA_FILE [PATH]\n");
    return 2;
  }
  const char *host = argv[1], *path = argc > 4 ? argv[4] : "/dir";
  const int port = atoi(argv[2]);

  /* One P-256 key. */
  EVP_PKEY *key = EVP_EC_gen("P-256");
  if (key == NULL) return fail("EVP_EC_gen");

  /* Ten ES256 signatures over JWS-sized inputs. */
  unsigned char data[600], sig[128];
  memset(data, 'a', sizeof(data));
  for (int i = 0; i < 10; i++) {
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t len = sizeof(sig);
    data[0] = (unsigned char)i;
    if (md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(md, sig, &len, data, sizeof(data)) != 1)
      return fail("EVP_DigestSign");
    EVP_MD_CTX_free(md);
  }

  /* One verified TLS connection. */
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == NULL) return fail("SSL_CTX_new");
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  if (SSL_CTX_load_verify_locations(ctx, argv[3], NULL) != 1) return fail("CA file");
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) return fail("HOST must be an IPv4 address");
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) return fail("connect");
  SSL *ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set1_host(ssl, host);
  if (SSL_connect(ssl) != 1 || SSL_get_verify_result(ssl) != X509_V_OK) return fail("handshake");

  /* Eight requests on it. */
  char req[512];
  int n = snprintf(req, sizeof(req),
                   "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: floor\r\nAccept: */*\r\n\r\n",
                   path, host, port);
  for (int i = 0; i < 8; i++) {
    int status = 0;
    if (SSL_write(ssl, req, n) != n) return fail("SSL_write");
    if (read_response(ssl, &status) != 0) return fail("reading the response");
    if (status != 200) {
      fprintf(stderr, "floor: status %d\n", status);
      return 1;
    }
  }
  SSL_shutdown(ssl);
  SSL_free(ssl);
  close(fd);
  SSL_CTX_free(ctx);
  EVP_PKEY_free(key);
  return 0;
}
