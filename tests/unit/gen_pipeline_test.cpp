// The delivery pipeline generators: `gen dockerfile`, `gen compose`, `gen ci`, and the
// image references they share. Their outputs also go through the real tools in
// tests/integration/gen_{dockerfile,compose,ci}.sh; here: content and every refusal.
#include <doctest/doctest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "gen/ci.hpp"
#include "gen/compose.hpp"
#include "gen/dockerfile.hpp"
#include "gen/values.hpp"

using namespace agent::gen;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

bool has_line(const std::string& text, const std::string& line) {
  const auto lines = lines_of(text);
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

size_t line_index(const std::string& text, const std::string& line) {
  const auto lines = lines_of(text);
  return static_cast<size_t>(std::find(lines.begin(), lines.end(), line) - lines.begin());
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

template <class T>
std::string error_of(const acme::Result<T>& r) {
  REQUIRE_FALSE(r);
  CHECK(r.error().code == acme::Errc::kInvalidInput);
  CHECK(r.error().message.find('\n') == std::string::npos);
  return r.error().message;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

const std::string kDigest(64, 'a');

}  // namespace

TEST_SUITE("pipeline") {
  TEST_CASE("image ref: Docker's grammar, split into registry, path, tag and digest") {
    auto a = parse_image_ref("nginx", "--image");
    REQUIRE(a);
    CHECK(a->registry.empty());
    CHECK(a->path == "nginx");
    CHECK(a->tag.empty());
    CHECK(a->str() == "nginx");

    auto b = parse_image_ref("ghcr.io/acme/api:1.2.3", "--image");
    REQUIRE(b);
    CHECK(b->registry == "ghcr.io");
    CHECK(b->path == "acme/api");
    CHECK(b->tag == "1.2.3");
    CHECK(b->name() == "ghcr.io/acme/api");
    CHECK(b->str() == "ghcr.io/acme/api:1.2.3");

    auto c = parse_image_ref("localhost:5000/team/app", "--image");
    REQUIRE(c);
    CHECK(c->registry == "localhost:5000");
    CHECK(c->path == "team/app");
    CHECK(c->tag.empty());

    auto d = parse_image_ref("app@sha256:" + kDigest, "--image");
    REQUIRE(d);
    CHECK(d->path == "app");
    CHECK(d->digest == "sha256:" + kDigest);
    CHECK(d->str() == "app@sha256:" + kDigest);

    auto e = parse_image_ref("localhost/a__b.c-d---e:v1_2.3-x", "--image");
    REQUIRE(e);
    CHECK(e->registry == "localhost");
    CHECK(e->path == "a__b.c-d---e");
    CHECK(e->tag == "v1_2.3-x");

    for (const std::string& bad : std::vector<std::string>{"",
                                                           "App",
                                                           "a b",
                                                           "a:",
                                                           ":1",
                                                           "a:-x",
                                                           "a:.x",
                                                           "a:x;y",
                                                           "a@sha256:abc",
                                                           "a@md5:" + kDigest,
                                                           "/a",
                                                           "a/",
                                                           "a//b",
                                                           "a..b",
                                                           "-a",
                                                           "a-",
                                                           "acme/Api:1",
                                                           "ghcr.io/",
                                                           "bad_host:99999/a",
                                                           "a$b",
                                                           "a\"b:1",
                                                           "a:1 ",
                                                           "a:" + std::string(129, 'x')}) {
      CAPTURE(bad);
      const std::string msg = error_of(parse_image_ref(bad, "--image"));
      CHECK(starts_with(msg, "--image '" + bad + "': "));
    }
  }

  TEST_CASE("image ref: a pinned image has a tag other than latest, or a digest") {
    CHECK(parse_pinned_image("nginx:1.27.3-alpine", "x"));
    CHECK(parse_pinned_image("app@sha256:" + kDigest, "x"));
    CHECK(parse_pinned_image("app:latest@sha256:" + kDigest, "x"));
    CHECK(error_of(parse_pinned_image("app", "--image")) ==
          "--image 'app': no tag: pin a version (app:1.2.3) or a digest; an untagged image means "
          "'latest'");
    CHECK(error_of(parse_pinned_image("ghcr.io/a/b:latest", "--image")) ==
          "--image 'ghcr.io/a/b:latest': 'latest' moves: pin a version (ghcr.io/a/b:1.2.3) or a "
          "digest");
    // Grammar errors come first.
    CHECK(error_of(parse_pinned_image("Bad:1", "--image")).find("lower-case") != std::string::npos);
  }

  TEST_CASE("dockerfile: defaults give a pinned multi-stage static build, non-root") {
    DockerfileOptions o;
    o.binary = "api";
    auto r = dockerfile(o);
    REQUIRE(r);
    const std::string& t = *r;
    const std::string build = "FROM --platform=$BUILDPLATFORM golang:1.23.4-bookworm AS build";
    const std::string final_from = "FROM alpine:3.20.3";
    REQUIRE(has_line(t, build));
    REQUIRE(has_line(t, final_from));
    CHECK(count(t, "\nFROM ") == 2);
    CHECK(line_index(t, build) < line_index(t, final_from));
    // Module download is its own layer, before the sources are copied.
    CHECK(line_index(t, "COPY go.mod go.sum* ./") <
          line_index(t, "RUN go mod download && go mod verify"));
    CHECK(line_index(t, "RUN go mod download && go mod verify") < line_index(t, "COPY . ."));
    for (const char* arg : {"ARG VERSION=dev", "ARG TARGETOS", "ARG TARGETARCH"}) {
      CAPTURE(arg);
      CHECK(has_line(t, arg));
    }
    CHECK(has_line(t,
                   "RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} "
                   "GOARCH=${TARGETARCH:-$(go env GOARCH)} \\"));
    // A default for a platform ARG would override what BuildKit passes (buildx#510).
    CHECK(t.find("ARG TARGETARCH=") == std::string::npos);
    CHECK(t.find("ARG TARGETOS=") == std::string::npos);
    CHECK(has_line(t,
                   "    go build -trimpath -ldflags \"-s -w -X main.version=${VERSION}\" -o "
                   "/out/api ."));
    // The final stage: the binary from the build stage, a numeric non-root user, exec form.
    const size_t fin = line_index(t, final_from);
    CHECK(line_index(t, "COPY --from=build /out/api /usr/local/bin/api") > fin);
    CHECK(line_index(t, "USER 10001:10001") > fin);
    CHECK(count(t, "\nUSER ") == 1);
    CHECK(has_line(t, "EXPOSE 8080"));
    CHECK(count(t, "\nHEALTHCHECK") == 0);
    CHECK(lines_of(t).back() == "ENTRYPOINT [\"/usr/local/bin/api\"]");
    CHECK(t.find(":latest") == std::string::npos);
  }

  TEST_CASE("dockerfile: options reach the file") {
    DockerfileOptions o;
    o.binary = "billing-svc.v2";
    o.main_package = "./cmd/billing";
    o.go_version = "1.22";
    o.port = 9000;
    o.healthcheck_path = "/healthz";
    auto r = dockerfile(o);
    REQUIRE(r);
    CHECK(has_line(*r, "FROM --platform=$BUILDPLATFORM golang:1.22-bookworm AS build"));
    CHECK(has_line(*r,
                   "    go build -trimpath -ldflags \"-s -w -X main.version=${VERSION}\" -o "
                   "/out/billing-svc.v2 ./cmd/billing"));
    CHECK(has_line(*r, "EXPOSE 9000"));
    CHECK(has_line(*r,
                   "    CMD [\"wget\", \"-q\", \"-O\", \"/dev/null\", "
                   "\"http://127.0.0.1:9000/healthz\"]"));
    CHECK(count(*r, "\nHEALTHCHECK") == 1);
    CHECK(line_index(*r,
                     "HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \\") >
          line_index(*r, "FROM alpine:3.20.3"));
    CHECK(has_line(*r, "ENTRYPOINT [\"/usr/local/bin/billing-svc.v2\"]"));

    o.main_package = "example.com/billing/cmd/api";
    o.version_var = "example.com/billing/internal/build.Version";
    r = dockerfile(o);
    REQUIRE(r);
    CHECK(r->find("-X example.com/billing/internal/build.Version=${VERSION}\" -o "
                  "/out/billing-svc.v2 example.com/billing/cmd/api\n") != std::string::npos);
  }

  TEST_CASE("dockerfile: every bad value is refused, naming the option") {
    DockerfileOptions none;
    CHECK(error_of(dockerfile(none)) == "gen dockerfile: give --binary NAME");

    for (const std::string& bad : std::vector<std::string>{
             ".hidden", "-x", "a b", "a/b", "a$b", "a\"b", "a;b", "ä", std::string(65, 'a')}) {
      CAPTURE(bad);
      DockerfileOptions o;
      o.binary = bad;
      CHECK(starts_with(error_of(dockerfile(o)), "gen dockerfile: --binary '" + bad + "': "));
    }
    for (const char* bad :
         {"", "-race", "/abs/pkg", "./...", "./cmd/...", "./cmd/..", "../x", "./a b", "./a;b", "~x",
          "./cmd/", "./.hidden", "a//b", "./cmd/$(x)", "./a\"b"}) {
      CAPTURE(bad);
      DockerfileOptions o;
      o.binary = "api";
      o.main_package = bad;
      CHECK(starts_with(error_of(dockerfile(o)),
                        std::string("gen dockerfile: --main '") + bad + "': "));
    }
    for (const char* bad : {"", "1", "latest", "1.23.4.1", "1.x", "1.23rc1", "go1.23", "1..2",
                            "1.23.", ".1.2", "12345.1", "1.23-alpine"}) {
      CAPTURE(bad);
      DockerfileOptions o;
      o.binary = "api";
      o.go_version = bad;
      CHECK(starts_with(error_of(dockerfile(o)), std::string("gen dockerfile: --go-version '") +
                                                     bad + "': give a Go release as X.Y.Z"));
    }
    for (int port : {0, -1, 65536}) {
      CAPTURE(port);
      DockerfileOptions o;
      o.binary = "api";
      o.port = port;
      CHECK(error_of(dockerfile(o)) == "gen dockerfile: --port '" + std::to_string(port) +
                                           "': the port must be from 1 to 65535");
    }
    for (const char* bad : {"healthz", "/a b", "/a\"b", "/a$b", "/a//b"}) {
      CAPTURE(bad);
      DockerfileOptions o;
      o.binary = "api";
      o.healthcheck_path = bad;
      CHECK(starts_with(error_of(dockerfile(o)),
                        std::string("gen dockerfile: --healthcheck '") + bad + "': "));
    }
    DockerfileOptions v;
    v.binary = "api";
    v.version_var = "version";
    CHECK(starts_with(error_of(dockerfile(v)), "gen dockerfile: version variable 'version': "));
  }

  TEST_CASE("compose: app, nginx and the agent sharing the certificates") {
    ComposeOptions o;
    o.domains = {"Example.COM", "www.example.com"};
    auto r = compose_file(o);
    REQUIRE(r);
    const std::string& t = *r;
    // Debian's docker-compose 1.29 rejects a top-level name:; no version: is needed.
    for (const auto& l : lines_of(t)) {
      CAPTURE(l);
      CHECK_FALSE(l.starts_with("name:"));
      CHECK_FALSE(l.starts_with("version:"));
    }
    for (const char* s : {"  app:", "  acmectl:", "  nginx:"}) {
      CAPTURE(s);
      CHECK(has_line(t, s));
    }
    CHECK_FALSE(has_line(t, "  postgres:"));
    CHECK(t.find("POSTGRES") == std::string::npos);
    CHECK(t.find("DATABASE_URL") == std::string::npos);
    // The app gets a healthcheck only when asked (--healthcheck PATH).
    CHECK(count(t, "    healthcheck:\n") == 2);
    CHECK(count(t, "      test: ") == 2);
    CHECK(t.find("wget") == std::string::npos);

    CHECK(has_line(t, "    image: app:local"));
    CHECK(has_line(t, std::string("    image: acmectl:") + ACMECTL_VERSION));
    CHECK(has_line(t, "    image: nginx:1.27.3-alpine"));
    CHECK(has_line(t, "    command: [\"agent\", \"--config\", \"/etc/acmectl/acmectl.toml\"]"));
    // Agent: state and certificates on separate volumes; nginx gets only the certificates.
    CHECK(has_line(t, "      - acmectl-state:/var/lib/acmectl"));
    CHECK(has_line(t, "      - acmectl-live:/var/lib/acmectl/live"));
    CHECK(has_line(t, "      - acmectl-live:/var/lib/acmectl/live:ro"));
    CHECK(count(t, "acmectl-state:/") == 1);
    CHECK(has_line(t, "      - ./nginx/site.conf:/etc/nginx/conf.d/default.conf:ro"));
    CHECK(has_line(t, "        while sleep 21600; do nginx -s reload; done &"));
    CHECK(has_line(t, "        exec nginx -g 'daemon off;'"));
    CHECK(has_line(t, "      - \"80:80\""));
    CHECK(has_line(t, "      - \"443:443\""));
    // Without an app healthcheck nginx waits only for the app and the agent to exist.
    CHECK_FALSE(has_line(t, "        condition: service_healthy"));
    CHECK(count(t, "        condition: service_started") == 2);
    {
      ComposeOptions h = o;
      h.healthcheck_path = "/healthz";
      auto rh = compose_file(h);
      REQUIRE(rh);
      // nginx waits for a healthy app, and only for the agent to exist.
      const size_t nginx = line_index(*rh, "  nginx:");
      CHECK(count(*rh, "    healthcheck:\n") == 3);
      CHECK(line_index(*rh, "        condition: service_healthy") > nginx);
      CHECK(line_index(*rh, "        condition: service_started") > nginx);
      CHECK(has_line(*rh,
                     "      test: [\"CMD\", \"wget\", \"-q\", \"-O\", \"/dev/null\", "
                     "\"http://127.0.0.1:8080/healthz\"]"));
    }
    // The comments carry the bootstrap, with the normalised names.
    CHECK(t.find("# renewed certificates. They are in "
                 "/var/lib/acmectl/live/example.com/{fullchain,privkey}.pem\n") !=
          std::string::npos);
    CHECK(t.find("docker-compose run --rm --no-deps -p 80:80 acmectl issue -d example.com -d "
                 "www.example.com \\\n#     --email YOU@EXAMPLE.COM --agree-tos "
                 "--http01-listen :80\n") != std::string::npos);
    // The agent's health check uses curl, which acmectl's own image installs.
    CHECK(t.find("test: [\"CMD\", \"curl\", \"-fsS\", \"-o\", \"/dev/null\", "
                 "\"http://127.0.0.1:9469/healthz\"]") != std::string::npos);
    CHECK(t.find("#   docker-compose up -d\n") != std::string::npos);
    CHECK(t.find("acmectl gen nginx -d example.com -d www.example.com --upstream app:8080") !=
          std::string::npos);
    // No '$' compose would interpolate: only $$ (a literal $).
    for (size_t p = t.find('$'); p != std::string::npos; p = t.find('$', p + 2)) {
      CAPTURE(t.substr(p, 20));
      CHECK(t[p + 1] == '$');
    }
  }

  TEST_CASE("compose: --postgres adds a database whose password comes from the environment") {
    ComposeOptions o;
    o.domains = {"api.example.org"};
    o.postgres = true;
    o.image = "ghcr.io/acme/api:1.4.2";
    o.app_port = 3000;
    o.healthcheck_path = "/status";
    auto r = compose_file(o);
    REQUIRE(r);
    const std::string& t = *r;
    const std::string password =
        "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in the environment or .env}";
    CHECK(has_line(t, "  postgres:"));
    CHECK(has_line(t, "    image: postgres:16.6-alpine"));
    CHECK(has_line(t, "      POSTGRES_PASSWORD: \"" + password + "\""));
    CHECK(has_line(t, "      DATABASE_URL: \"postgres://app:" + password +
                          "@postgres:5432/app?sslmode=disable\""));
    CHECK(has_line(t, "      test: [\"CMD\", \"pg_isready\", \"-U\", \"app\", \"-d\", \"app\"]"));
    CHECK(has_line(t, "      - postgres-data:/var/lib/postgresql/data"));
    CHECK(has_line(t, "  postgres-data: {}"));
    CHECK(count(t, "    healthcheck:\n") == 4);
    // The app waits for a healthy database.
    const size_t app = line_index(t, "  app:");
    const size_t dep = line_index(t, "      postgres:");
    CHECK(dep > app);
    CHECK(dep < line_index(t, "  acmectl:"));
    CHECK(lines_of(t)[dep + 1] == "        condition: service_healthy");
    CHECK(has_line(t, "    image: ghcr.io/acme/api:1.4.2"));
    CHECK(has_line(t, "      - \"3000\""));
    CHECK(t.find("\"http://127.0.0.1:3000/status\"]") != std::string::npos);
    CHECK(t.find("--upstream app:3000") != std::string::npos);
    CHECK(t.find("#   .env                  POSTGRES_PASSWORD=") != std::string::npos);
    // Every '$' is an escaped one or the required password variable.
    for (size_t p = t.find('$'); p != std::string::npos; p = t.find('$', p + 2)) {
      CAPTURE(t.substr(p, 30));
      CHECK((t[p + 1] == '$' || t.compare(p, password.size(), password) == 0));
    }
  }

  TEST_CASE("compose: a wildcard first name: _wildcard. directory, DNS-01 bootstrap") {
    ComposeOptions o;
    o.domains = {"*.example.com", "example.com"};
    o.image = "app@sha256:" + kDigest;
    o.acmectl_image = "registry.example.com:5000/ops/acmectl:0.1.0";
    auto r = compose_file(o);
    REQUIRE(r);
    CHECK(r->find("/var/lib/acmectl/live/_wildcard.example.com/{fullchain,privkey}.pem") !=
          std::string::npos);
    CHECK(r->find("acmectl issue -d '*.example.com' -d example.com --email YOU@EXAMPLE.COM "
                  "--agree-tos \\\n#     --challenge dns-01") != std::string::npos);
    CHECK(r->find("-p 80:80") == std::string::npos);
    CHECK(has_line(*r, "    image: app@sha256:" + kDigest));
    CHECK(has_line(*r, "    image: registry.example.com:5000/ops/acmectl:0.1.0"));
  }

  TEST_CASE("compose: every bad value is refused, naming the option") {
    ComposeOptions none;
    CHECK(error_of(compose_file(none)) == "gen compose: give -d NAME (the site's names)");

    for (const char* bad : {"exa mple.com", "a..b", "-a.com", "a/b", "", "a;b.com", "*.*.a.com"}) {
      CAPTURE(bad);
      ComposeOptions o;
      o.domains = {"ok.example.com", bad};
      CHECK(starts_with(error_of(compose_file(o)), std::string("gen compose: -d '") + bad + "': "));
    }
    ComposeOptions dup;
    dup.domains = {"a.example", "A.example"};
    CHECK(error_of(compose_file(dup)).find("given twice") != std::string::npos);

    for (const char* bad : {"app:latest", "app", "App:1", "bad image:1", "app:1;rm",
                            "app:", "ghcr.io/acme/api", "app:$TAG"}) {
      CAPTURE(bad);
      ComposeOptions o;
      o.domains = {"example.com"};
      o.image = bad;
      CHECK(starts_with(error_of(compose_file(o)),
                        std::string("gen compose: --image '") + bad + "': "));
    }
    for (const char* bad : {"acmectl:latest", "acmectl", "acmectl:1 2"}) {
      CAPTURE(bad);
      ComposeOptions o;
      o.domains = {"example.com"};
      o.acmectl_image = bad;
      CHECK(starts_with(error_of(compose_file(o)),
                        std::string("gen compose: --acmectl-image '") + bad + "': "));
    }
    ComposeOptions port;
    port.domains = {"example.com"};
    port.app_port = 70000;
    CHECK(error_of(compose_file(port)) ==
          "gen compose: --port '70000': the port must be from 1 to 65535");
    ComposeOptions hc;
    hc.domains = {"example.com"};
    hc.healthcheck_path = "healthz";
    CHECK(starts_with(error_of(compose_file(hc)), "gen compose: --healthcheck 'healthz': "));
    ComposeOptions pg;
    pg.domains = {"example.com"};
    pg.postgres = true;
    pg.postgres_image = "postgres:latest";
    CHECK(starts_with(error_of(compose_file(pg)), "gen compose: postgres image 'postgres:latest'"));
  }

  TEST_CASE("ci: test, image and deploy jobs with pinned actions and least privilege") {
    CiOptions o;
    auto r = ci_workflow(o);
    REQUIRE(r);
    const std::string& t = *r;
    const auto lines = lines_of(t);
    // Runners pinned too: ubuntu-latest moves under the workflow.
    CHECK(t.find("ubuntu-latest") == std::string::npos);
    CHECK(t.find("    runs-on: ubuntu-24.04\n") != std::string::npos);
    // Every action pinned to an exact release tag; the ones that exist are listed here.
    std::vector<std::string> uses;
    for (const auto& l : lines) {
      const size_t at = l.find("uses: ");
      if (at == std::string::npos || l.find_first_not_of(" -") != at) continue;
      uses.push_back(l.substr(at + 6));
    }
    CHECK(uses ==
          std::vector<std::string>{"actions/checkout@v4.2.2", "actions/setup-go@v5.5.0",
                                   "actions/checkout@v4.2.2", "docker/setup-buildx-action@v3.10.0",
                                   "docker/login-action@v3.4.0", "docker/metadata-action@v5.7.0",
                                   "docker/build-push-action@v6.18.0"});
    for (const auto& u : uses) {
      // NAME@vX.Y.Z: three dot-separated numbers after "@v".
      CAPTURE(u);
      const size_t at = u.find("@v");
      REQUIRE(at != std::string::npos);
      const std::string version = u.substr(at + 2);
      CHECK(std::count(version.begin(), version.end(), '.') == 2);
      CHECK(version.find_first_not_of("0123456789.") == std::string::npos);
      CHECK(version.find("..") == std::string::npos);
      CHECK(version.front() != '.');
      CHECK(version.back() != '.');
    }

    CHECK(has_line(t, "---"));
    CHECK(has_line(t, "on:"));
    // Every push is tested: no branch filter on the trigger.
    CHECK(has_line(t, "  push:"));
    CHECK(lines[line_index(t, "  push:") + 1] == "  pull_request:");
    CHECK(t.find("branches:") == std::string::npos);
    // contents: read for all; packages: write only in the image job.
    const size_t perms = line_index(t, "permissions:");
    CHECK(lines[perms + 1] == "  contents: read");
    const size_t test = line_index(t, "  test:");
    const size_t image = line_index(t, "  image:");
    const size_t deploy = line_index(t, "  deploy:");
    CHECK(perms < test);
    CHECK(test < image);
    CHECK(image < deploy);
    CHECK(count(t, "packages: write") == 1);
    const size_t packages =
        line_index(t, "      packages: write  # push to ghcr.io with GITHUB_TOKEN");
    CHECK(packages > image);
    CHECK(packages < deploy);

    CHECK(has_line(t, "          go-version-file: go.mod"));
    CHECK(has_line(t, "        run: CGO_ENABLED=0 go build ./..."));
    CHECK(has_line(t, "        run: go vet ./..."));
    CHECK(has_line(t, "        run: go test -race ./..."));
    CHECK(has_line(t, "    needs: test"));
    CHECK(has_line(t, "      (github.ref == 'refs/heads/main' ||"));
    CHECK(has_line(t, "      startsWith(github.ref, 'refs/tags/v'))"));
    CHECK(has_line(t, "          registry: ghcr.io"));
    CHECK(has_line(t, "          password: ${{ secrets.GITHUB_TOKEN }}"));
    CHECK(has_line(t, "          images: ghcr.io/${{ github.repository }}"));
    CHECK(has_line(t, "          push: true"));
    CHECK(has_line(t, "          tags: ${{ steps.meta.outputs.tags }}"));
    CHECK(has_line(t, "            VERSION=${{ steps.meta.outputs.version }}"));

    CHECK(has_line(t, "    needs: image"));
    CHECK(has_line(t, "    environment: production"));
    CHECK(has_line(t, "      group: deploy-production"));
    CHECK(has_line(t, "      github.ref == 'refs/heads/main'"));
    for (const char* secret :
         {"DEPLOY_HOST", "DEPLOY_USER", "DEPLOY_SSH_KEY", "DEPLOY_KNOWN_HOSTS"}) {
      CAPTURE(secret);
      CHECK(t.find(std::string("${{ secrets.") + secret + " }}") != std::string::npos);
    }
    CHECK(has_line(t, "            -o StrictHostKeyChecking=yes \"$DEPLOY_USER@$DEPLOY_HOST\" \\"));
    CHECK(t.find("            'cd /srv/app && docker compose pull app &&\n"
                 "             docker compose up -d &&\n"
                 "             docker compose exec -T nginx nginx -s reload'\n") !=
          std::string::npos);
  }

  TEST_CASE("ci: --no-deploy, --image, --branch, --deploy-dir") {
    CiOptions o;
    o.deploy = false;
    o.image = "ghcr.io/acme/api";
    auto r = ci_workflow(o);
    REQUIRE(r);
    CHECK_FALSE(has_line(*r, "  deploy:"));
    CHECK(r->find("DEPLOY_") == std::string::npos);
    CHECK(r->find("environment:") == std::string::npos);
    CHECK(r->find("concurrency:") == std::string::npos);
    CHECK(has_line(*r, "          images: ghcr.io/acme/api"));
    CHECK(count(*r, "packages: write") == 1);

    // Another registry: its own credentials, and no package permission.
    o.image = "registry.example.com:5000/team/api";
    r = ci_workflow(o);
    REQUIRE(r);
    CHECK(has_line(*r, "          registry: registry.example.com:5000"));
    CHECK(has_line(*r, "          username: ${{ secrets.REGISTRY_USERNAME }}"));
    CHECK(has_line(*r, "          password: ${{ secrets.REGISTRY_PASSWORD }}"));
    CHECK(r->find("packages: write") == std::string::npos);
    CHECK(r->find("GITHUB_TOKEN") == std::string::npos);
    o.image = "acme/api";  // Docker Hub
    r = ci_workflow(o);
    REQUIRE(r);
    CHECK(has_line(*r, "          registry: docker.io"));
    CHECK(has_line(*r, "          images: acme/api"));

    CiOptions b;
    b.branch = "release/1.x";
    b.deploy_dir = "/opt/billing";
    r = ci_workflow(b);
    REQUIRE(r);
    CHECK(has_line(*r, "      (github.ref == 'refs/heads/release/1.x' ||"));
    CHECK(has_line(*r, "      github.ref == 'refs/heads/release/1.x'"));
    CHECK(has_line(*r, "            'cd /opt/billing && docker compose pull app &&"));
  }

  TEST_CASE("ci: every bad value is refused, naming the option") {
    for (const char* bad : {"bad image", "ghcr.io/acme/api:1.0", "ghcr.io/Acme/api",
                            "ghcr.io/acme/api@sha256:abc", "a;b", "ghcr.io/${{ x }}"}) {
      CAPTURE(bad);
      CiOptions o;
      o.image = bad;
      CHECK(starts_with(error_of(ci_workflow(o)), std::string("gen ci: --image '") + bad + "': "));
    }
    CiOptions tagged;
    tagged.image = "ghcr.io/acme/api:1.0";
    CHECK(error_of(ci_workflow(tagged)) ==
          "gen ci: --image 'ghcr.io/acme/api:1.0': give the name without a tag (ghcr.io/acme/api): "
          "the workflow tags each build");
    for (const char* bad : {"", "-x", "a b", "feature/*", "a..b", "x.lock", "a'b", "$(x)", "/main",
                            "main/", "a//b", "a/.b", "[ab]"}) {
      CAPTURE(bad);
      CiOptions o;
      o.branch = bad;
      CHECK(starts_with(error_of(ci_workflow(o)), std::string("gen ci: --branch '") + bad + "': "));
    }
    for (const char* bad : {"relative", "/a b", "/a'b", "/a/../b", "/a;b"}) {
      CAPTURE(bad);
      CiOptions o;
      o.deploy_dir = bad;
      CHECK(starts_with(error_of(ci_workflow(o)),
                        std::string("gen ci: --deploy-dir '") + bad + "': "));
      o.deploy = false;  // not used without the deploy job
      CHECK(ci_workflow(o));
    }
    CiOptions gv;
    gv.go_version_file = "../go.mod";
    CHECK(starts_with(error_of(ci_workflow(gv)), "gen ci: go version file '../go.mod': "));
  }

}  // TEST_SUITE("pipeline")
