# shellcheck shell=bash
# Shared by bench/compare.sh and bench/bulk.sh (sourced; needs WORK, WEBROOT,
# PEBBLE_HTTP_PORT and a die function).
#
# nginx_start: nginx in the foreground (no daemon, no master: one process, ours to
# stop by PID), serving $WEBROOT on 127.0.0.1:$PEBBLE_HTTP_PORT, every path under
# $WORK/nginx, nothing in /etc/nginx touched. nginx_stop stops it.
NGINX_PID=""
nginx_stop() {
  [[ -n "$NGINX_PID" ]] || return 0
  kill -TERM "$NGINX_PID" 2>/dev/null || true
  wait "$NGINX_PID" 2>/dev/null || true
  NGINX_PID=""
}
nginx_start() {
  [[ -z "$NGINX_PID" ]] || return 0
  local prefix="$WORK/nginx" t
  if [[ ! -f "$prefix/nginx.conf" ]]; then
    mkdir -p "$prefix/logs" "$prefix/tmp"
    cat >"$prefix/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $prefix/nginx.pid;
error_log $prefix/logs/error.log warn;
events { worker_connections 64; }
http {
  access_log $prefix/logs/access.log;
  client_body_temp_path $prefix/tmp/body;
  proxy_temp_path $prefix/tmp/proxy;
  fastcgi_temp_path $prefix/tmp/fastcgi;
  uwsgi_temp_path $prefix/tmp/uwsgi;
  scgi_temp_path $prefix/tmp/scgi;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$PEBBLE_HTTP_PORT;
    server_name _;
    root $WEBROOT;
    location /.well-known/acme-challenge/ { try_files \$uri =404; }
    location / { return 404; }
  }
}
EOF
  fi
  nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/logs/error.log" \
    </dev/null >>"$prefix/logs/stdout.log" 2>&1 &
  NGINX_PID=$!
  for ((t = 0; t < 200; t++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PEBBLE_HTTP_PORT") 2>/dev/null; then
      return 0
    fi
    kill -0 "$NGINX_PID" 2>/dev/null || break
    sleep 0.05
  done
  tail -n 20 "$prefix/logs/error.log" "$prefix/logs/stdout.log" >&2 || true
  die "nginx did not start on 127.0.0.1:$PEBBLE_HTTP_PORT"
}

