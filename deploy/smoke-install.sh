#!/usr/bin/env bash
# The operator's guide (docs/operations.md, "Install on a Debian server"), followed on this
# machine as far as a machine without systemd as PID 1 allows, into a temporary folder that
# stands for / : a clone of this repository as /opt/mooc/app, its venv, a fresh PostgreSQL
# database, `mooc db upgrade` and `mooc courses sync` through mooc-admin, the environment file
# from mooc.env.example, the app's error pages, a certificate, the nginx site rendered by
# render.py, the app started with mooc.service's own ExecStart line, then GET /healthz through
# HTTPS. What differs from a real server, and why: no `mooc` user (the commands run as the
# current user), PostgreSQL over TCP as postgres (no peer authentication), loopback ports, a
# self-signed certificate, nginx with its own prefix instead of /etc/nginx.
# .ci/run runs it; by hand: deploy/smoke-install.sh (needs nginx, PostgreSQL at 127.0.0.1:5432).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
PG=${SMOKE_PG:-postgresql://postgres@127.0.0.1:5432}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

root=$(mktemp -d /tmp/mooc-smoke.XXXXXX)
db="mooc_smoke_$(date +%s)_$$"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$root"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
step() { echo "-- $*"; }

home="$root/opt/mooc"
mkdir -p "$home" "$root/etc/mooc" "$root/var/lib/mooc" "$root/var/cache/mooc/spool" \
         "$root/var/cache/mooc/error-pages" "$root/etc/ssl/mooc" "$root/nginx"

step "code: git clone, venv, pip install -e"
git clone -q "$repo" "$home/app"
python3 -m venv "$home/venv"
"$home/venv/bin/pip" install -q -e "$home/app"

step "database: a fresh one"
psql -q "$PG/postgres" -c "CREATE DATABASE $db"

step "environment file, from deploy/mooc.env.example"
app_port=$(free_port); https_port=$(free_port); http_port=$(free_port)
secret=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')
env_file="$root/etc/mooc/mooc.env"
sed -e "s#^MOOC_SECRET_KEY=.*#MOOC_SECRET_KEY=$secret#" \
    -e "s#^MOOC_DATABASE_URL=.*#MOOC_DATABASE_URL=postgresql+psycopg://${PG#postgresql://}/$db#" \
    -e "s#^MOOC_BASE_URL=.*#MOOC_BASE_URL=https://localhost:$https_port#" \
    -e "s#^MOOC_MAIL_BACKEND=.*#MOOC_MAIL_BACKEND=file#" \
    -e "s#/opt/mooc#$home#g; s#/var/lib/mooc#$root/var/lib/mooc#; s#/var/cache/mooc#$root/var/cache/mooc#g" \
    -e "s#^MOOC_APP_ADDRESS=.*#MOOC_APP_ADDRESS=127.0.0.1:$app_port#" \
    -e "s#^NGINX_SERVER_NAME=.*#NGINX_SERVER_NAME=localhost#" \
    -e "s#^NGINX_HTTP_LISTEN=.*#NGINX_HTTP_LISTEN=127.0.0.1:$http_port#" \
    -e "s#^NGINX_HTTPS_LISTEN=.*#NGINX_HTTPS_LISTEN=127.0.0.1:$https_port#" \
    -e "s#/etc/ssl/mooc#$root/etc/ssl/mooc#g" \
    "$home/app/deploy/mooc.env.example" > "$env_file"
chmod 0640 "$env_file"

admin() { MOOC_HOME="$home" MOOC_ENV_FILE="$env_file" MOOC_USER="$(id -un)" "$home/app/deploy/mooc-admin" "$@"; }
step "mooc-admin db upgrade"
admin db upgrade
step "mooc-admin courses sync"
admin courses sync --quiet
step "mooc-admin error-pages (mooc.service's ExecStartPre)"
admin error-pages "$root/var/cache/mooc/error-pages"

step "certificate (self-signed here; the guide's real one comes from a CA)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost -keyout "$root/etc/ssl/mooc/privkey.pem" \
  -out "$root/etc/ssl/mooc/fullchain.pem" 2>/dev/null

step "nginx site: render.py"
python3 "$home/app/deploy/render.py" "$home/app/deploy/nginx/mooc.conf" "$env_file" > "$root/nginx/mooc.conf"
user_line=""; [ "$(id -u)" = 0 ] && user_line="user root;"
cat > "$root/nginx/nginx.conf" <<CONF
$user_line
worker_processes 1;
pid $root/nginx/nginx.pid;
error_log $root/nginx/error.log;
events { worker_connections 64; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log $root/nginx/access.log;
    client_body_temp_path $root/nginx/client_body;
    proxy_temp_path $root/nginx/proxy;
    fastcgi_temp_path $root/nginx/fastcgi;
    uwsgi_temp_path $root/nginx/uwsgi;
    scgi_temp_path $root/nginx/scgi;
    include $root/nginx/mooc.conf;
}
CONF
nginx_args=(-p "$root/nginx" -c "$root/nginx/nginx.conf" -e "$root/nginx/error.log")
"$NGINX" "${nginx_args[@]}" -t -q

step "app: mooc.service's ExecStart, as systemd runs it (user, environment file, folder)"
exec_start=$(sed -n 's/^ExecStart=//p' "$home/app/deploy/systemd/mooc.service")
exec_start=${exec_start//\/opt\/mooc/$home}
exec_start=${exec_start//--port 8000/--port $app_port}
(set -a; . "$env_file"; set +a; cd "$home/app"; exec $exec_start) > "$root/app.log" 2>&1 &
pids+=($!)
"$NGINX" "${nginx_args[@]}" -g 'daemon off;' &
pids+=($!)

step "GET /healthz through HTTPS"
for _ in $(seq 1 120); do
  if body=$(curl -sf --cacert "$root/etc/ssl/mooc/fullchain.pem" "https://localhost:$https_port/healthz"); then
    break
  fi
  sleep 0.5
done
echo "$body"
if [ "${body:-}" != '{"database":"ok","status":"ok"}' ] && ! grep -q '"status": *"ok"' <<<"${body:-}"; then
  echo "smoke-install: /healthz did not answer ok through nginx" >&2
  cat "$root/app.log" "$root/nginx/error.log" >&2 || true
  exit 1
fi
redirect=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://localhost:$http_port/healthz")
[ "$redirect" = "301 https://localhost:$https_port/healthz" ] || { echo "smoke-install: no redirect: $redirect" >&2; exit 1; }
echo "smoke-install: the guide's steps work (healthz ok over HTTPS, HTTP redirects)"
