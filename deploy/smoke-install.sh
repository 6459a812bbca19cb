#!/usr/bin/env bash
# The install guide (docs/operations.md, "Install on a Debian server") followed as written, as
# root, on this machine, then its backup and restore; everything it made is removed at the end.
# .ci/run runs it after the test suites; by hand, as root: deploy/smoke-install.sh. It needs
# Debian's PostgreSQL running with its local socket, and the network for apt-get only when one
# of the guide's packages is missing. It takes 90 s on a quiet 2-core machine (40 s of it the
# guide's `pip install`), up to 3 minutes on one busy with other test runs.
#
# As written (each command run through `guide` below is one of the guide's, word for word:
# tests/test_deploy.py checks it): the packages, the `mooc` system user and its folders,
# `createuser`/`createdb` run as postgres, the app's role signing in through the local socket
# (the template's MOOC_DATABASE_URL=postgresql+psycopg://mooc@/mooc), the clone in /opt/mooc/app
# and its venv, /etc/mooc/mooc.env from the template, mooc-admin for every `mooc` command (so as
# the user mooc), `users create-admin` with its options, step 7's stand-in certificate, the
# units copied, the site rendered into /etc/nginx/sites-available and enabled, Debian's default
# site removed, Debian's own nginx.conf (workers as www-data, which must read the app's
# folders), `mooc-admin doctor`, and "Back up and restore": a backup restored with runuser and
# swapped in with ALTER DATABASE ... RENAME. That one runs between steps 8 and 9, before the
# app first starts (a renamed database must have no session; the guide stops the app for it),
# so that everything after it, the app, the timers' commands and doctor, runs on the restored
# database.
#
# What differs, and why:
# - systemd is not PID 1 here, so `systemctl daemon-reload / enable / start / stop` are done by
#   hand as the units say (unit_start below: User, Group, EnvironmentFile, WorkingDirectory,
#   UMask, StateDirectory and CacheDirectory with their modes, ExecStartPre, ExecStart). Not
#   their sandboxing (ProtectSystem, the system-call filter): tests/test_deploy.py runs
#   systemd-analyze verify on those. Timers do not fire: each service the guide's timers start
#   is started once by hand, as its timer would (not mooc-xapi: no MOOC_XAPI_URL). nginx is
#   started with `nginx` (or reloaded with `nginx -s reload` if it runs) where the guide says
#   `systemctl reload nginx`.
# - the name, ports and certificate: daotao.example.gov.vn (the template's) is in no DNS and
#   ports 80 and 443 may be taken, so the site listens on free loopback ports (NGINX_*_LISTEN,
#   MOOC_BASE_URL with the port) and curl is told the name's address (--resolve). The
#   certificate is step 7's self-signed stand-in. Step 10 (Let's Encrypt) needs the Internet to
#   reach this machine: certbot is installed (step 1), and a file put in its webroot is fetched
#   through the site over plain HTTP, as the CA would.
# - mail: no mail server here: the file backend, allowed for a name that is not loopback
#   (MOOC_ALLOW_FILE_MAIL=true); doctor warns about it, and every other line must be ok.
# - the release is this checkout's HEAD (uncommitted changes are not in it), cloned from here.
# - `editor` is sed; the administrator's password comes on standard input (no terminal).
# - PostgreSQL's local line in pg_hba.conf may say trust rather than peer on a CI machine: the
#   commands are the same, the script prints which.
#
# Idempotent across runs on one machine: it refuses to touch a real installation (a `mooc`
# user, /opt/mooc, /etc/mooc, a `mooc` role or database it did not make), first cleans up what
# an interrupted run left (its state file says what), and removes everything it made when it
# ends, however it ends. Two runs at once wait for each other (flock).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" != 0 ]; then
  echo "smoke-install: run it as root: it installs as the guide does (docs/operations.md)" >&2
  exit 1
fi
if [ "${SMOKE_INSTALL_LOCKED:-}" != 1 ]; then  # one run at a time; -o: what it starts holds no lock
  exec env SMOKE_INSTALL_LOCKED=1 flock -o -w 900 /run/lock/mooc-smoke-install.lock "$0" "$@"
fi
for name in $(compgen -e | grep '^MOOC_' || true); do unset "$name"; done  # a root shell's own
cd /
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

STATE=/var/lib/mooc-smoke-install.state   # what this run found and started, for its cleanup
NAME=daotao.example.gov.vn
PASSWORD=smoke-install-$$-$RANDOM$RANDOM
ADMIN=quantri@example.gov.vn
MADE=(/opt/mooc /etc/mooc /var/lib/mooc /var/cache/mooc /var/backups/mooc /etc/ssl/mooc
      /etc/nginx/sites-available/mooc.conf /etc/nginx/sites-enabled/mooc.conf /usr/local/bin/mooc-admin
      /etc/systemd/system/mooc.service)

step() { echo "-- [${SECONDS} s] $*"; }
fail() { echo "smoke-install: $*" >&2; exit 1; }
guide() { echo "# $1" >&2; eval "$1"; }   # a command of the guide, as written there
guide_with_input() {  # one that asks (the password), answered from standard input: in a session
  # of its own (setsid) there is no terminal for the prompt to open instead
  printf '%s\n' "${@:2}" | setsid -w bash -c "$(declare -f guide); guide \"\$1\"" _ "$1"
}
as_postgres() { runuser -u postgres -- "$@"; }
ours_in_postgres() {
  as_postgres psql -Atqc "SELECT rolname FROM pg_roles WHERE rolname = 'mooc' UNION ALL
    SELECT datname FROM pg_database WHERE datname IN ('mooc', 'mooc_restored', 'mooc_old')"
}
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
is_ps() { [ -n "${1:-}" ] && [ "$(ps -o "$2=" -p "$1" 2>/dev/null | tr -d ' ')" = "$3" ]; }  # pid field value
stop_pid() {  # SIGTERM, as systemctl stop does (KillMode=mixed), then wait for it
  alive "$1" || return 0
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 1 100); do alive "$1" || return 0; sleep 0.2; done
  kill -KILL "$1" 2>/dev/null || true
}
remember() { echo "$1" >> "$STATE"; }

cleanup() {
  set +e
  [ -f "$STATE" ] || return 0
  local app_pid="" nginx_pid="" nginx_was_running=0 default_site=0 acme_existed=1 safe_existed=1
  # shellcheck disable=SC1090
  . "$STATE"
  step "cleanup: stop what it started, remove what it made"
  if is_ps "$app_pid" user mooc; then stop_pid "$app_pid"; fi   # an old run's pid may be reused
  echo "[${SECONDS} s] the app stopped"
  rm -f /etc/nginx/sites-enabled/mooc.conf /etc/nginx/sites-available/mooc.conf
  if [ "$default_site" = 1 ] && [ ! -e /etc/nginx/sites-enabled/default ]; then
    ln -s /etc/nginx/sites-available/default /etc/nginx/sites-enabled/default
  fi
  if [ "$nginx_was_running" = 1 ]; then
    nginx -s reload
  elif is_ps "$nginx_pid" comm nginx; then
    kill -QUIT "$nginx_pid"
    for _ in $(seq 1 50); do alive "$nginx_pid" || break; sleep 0.2; done
  fi
  echo "[${SECONDS} s] nginx stopped"
  # At once: the files, and the databases (each DROP DATABASE waits for a checkpoint).
  rm -rf /opt/mooc /etc/mooc /var/lib/mooc /var/cache/mooc /var/backups/mooc /etc/ssl/mooc \
         /usr/local/bin/mooc-admin /etc/systemd/system/mooc.service /etc/systemd/system/mooc-*.service \
         /etc/systemd/system/mooc-*.timer &
  local removing=($!)
  for db in mooc mooc_restored mooc_old; do as_postgres dropdb --if-exists --force "$db" 2>/dev/null & removing+=($!); done
  for pid in "${removing[@]}"; do wait "$pid"; done
  as_postgres dropuser --if-exists mooc
  if id mooc >/dev/null 2>&1; then userdel mooc || echo "smoke-install: the user mooc is left (in use?)" >&2; fi
  if getent group mooc >/dev/null; then groupdel mooc; fi
  if [ "$acme_existed" = 0 ]; then rm -rf /var/www/acme; else rm -f /var/www/acme/.well-known/acme-challenge/smoke-*; fi
  if [ "$safe_existed" = 0 ]; then git config --system --unset-all safe.directory '^/opt/mooc/app$'; fi
  rm -f "$STATE" /var/lib/mooc-smoke-install.*.log
  echo "[${SECONDS} s] all removed"
}

if [ -f "$STATE" ]; then
  step "an earlier run was interrupted: its cleanup first"
  (cleanup)
fi
found=()
if id mooc >/dev/null 2>&1; then found+=("the user mooc"); fi
for path in "${MADE[@]}"; do if [ -e "$path" ] || [ -L "$path" ]; then found+=("$path"); fi; done
as_postgres psql -Atqc 'SELECT 1' >/dev/null ||
  fail "no PostgreSQL through the local socket as postgres (the guide's step 3 needs it on this machine)"
while read -r object; do [ -n "$object" ] && found+=("PostgreSQL's $object"); done < <(ours_in_postgres)
if [ ${#found[@]} -gt 0 ]; then
  fail "refusing: this machine has ${found[*]}, which this script did not make (a real installation?)"
fi
nginx_was_running=0
if [ -s /run/nginx.pid ] && alive "$(cat /run/nginx.pid)"; then nginx_was_running=1; fi
{
  echo "nginx_was_running=$nginx_was_running"
  echo "default_site=$([ -L /etc/nginx/sites-enabled/default ] && echo 1 || echo 0)"
  echo "acme_existed=$([ -e /var/www/acme ] && echo 1 || echo 0)"
  echo "safe_existed=$(git config --system --get-all safe.directory | grep -qx /opt/mooc/app && echo 1 || echo 0)"
} > "$STATE"
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
https_port=$(free_port); http_port=$(free_port); app_port=$(free_port)
base="https://$NAME:$https_port"
fetch=(curl -sS --resolve "$NAME:$https_port:127.0.0.1" --resolve "$NAME:$http_port:127.0.0.1"
       --cacert /etc/ssl/mooc/fullchain.pem)

# What `systemctl start UNIT` does with the unit's own lines, by hand: systemd is not PID 1.
unit_value() { sed -n "s/^$2=//p" "/etc/systemd/system/$1"; }
unit_start() {  # unit_start UNIT [LOG]: in the background with LOG (its pid in $unit_pid), else waits
  local unit=$1 log=${2:-} user group home kind base mode folder line
  user=$(unit_value "$unit" User); group=$(unit_value "$unit" Group)
  home=$(getent passwd "$user" | cut -d: -f6)
  for kind in State Cache; do
    base=/var/lib; [ "$kind" = Cache ] && base=/var/cache
    mode=$(unit_value "$unit" "${kind}DirectoryMode"); mode=${mode:-0755}
    for folder in $(unit_value "$unit" "${kind}Directory"); do
      install -d -o "$user" -g "$group" -m "$mode" "$base/$folder"
    done
  done
  local as_unit=(setpriv --reuid="$user" --regid="$group" --init-groups
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
    HOME="$home" USER="$user" LOGNAME="$user"
    sh -c 'set -a; . "$1"; set +a; umask "$2"; cd "$3" && eval "exec $4"' sh
    "$(unit_value "$unit" EnvironmentFile)" "$(unit_value "$unit" UMask)" "$(unit_value "$unit" WorkingDirectory)")
  while IFS= read -r line; do
    "${as_unit[@]}" "$line" < /dev/null || fail "$unit: ExecStartPre failed: $line"
  done < <(unit_value "$unit" ExecStartPre)
  line=$(unit_value "$unit" ExecStart)
  if [ -n "$log" ]; then
    "${as_unit[@]}" "$line" < /dev/null > "$log" 2>&1 &
    unit_pid=$!
  else
    "${as_unit[@]}" "$line" < /dev/null || fail "$unit failed"
  fi
}
start_app() {
  step "systemctl start mooc (by hand: its directories, ExecStartPre, ExecStart as mooc)"
  unit_start mooc.service /var/lib/mooc-smoke-install.app.log
  app_pid=$unit_pid
  remember "app_pid=$app_pid"
  for _ in $(seq 1 150); do
    if body=$("${fetch[@]}" -f "$base/healthz" 2>/dev/null); then break; fi
    alive "$app_pid" || { cat /var/lib/mooc-smoke-install.app.log >&2; fail "the app stopped"; }
    sleep 0.2
  done
  [ "${body:-}" = '{"database":"ok","status":"ok"}' ] ||
    { cat /var/lib/mooc-smoke-install.app.log /var/log/nginx/error.log >&2; fail "/healthz: ${body:-no answer}"; }
  echo "$base/healthz: $body"
}
sign_in() {  # the administrator's password is right: the sign-in form answers with the code step
  local jar page token answer
  jar=$(mktemp)
  page=$("${fetch[@]}" -c "$jar" "$base/login")
  token=$(sed -n 's/.*name="csrf_token"[^>]*value="\([^"]*\)".*/\1/p' <<<"$page" | head -1)
  [ -n "$token" ] || fail "no sign-in form at $base/login"
  answer=$("${fetch[@]}" -b "$jar" -c "$jar" -e "$base/login" -o /dev/null -D - \
           --data-urlencode "csrf_token=$token" --data-urlencode "email=$ADMIN" \
           --data-urlencode "password=$PASSWORD" "$base/login")
  rm -f "$jar"
  grep -q '^HTTP/[0-9.]* 302' <<<"$answer" && grep -qi '^location: .*/account/two-factor' <<<"$answer" ||
    fail "the administrator could not sign in: $answer"
  grep -qi '^set-cookie: mooc_session=.*; Secure' <<<"$answer" || fail "no Secure session cookie: $answer"
  echo "signed in as $ADMIN over HTTPS (a Secure cookie), sent on to set up an authenticator"
}

step "1. packages"
missing=()
for package in postgresql nginx python3-venv git openssl curl certbot; do
  dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null | grep -qx installed || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "missing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  guide 'apt-get update'
  guide 'apt-get install -y postgresql nginx python3-venv git openssl curl certbot'
fi
certbot --version

step "2. the service user and folders"
guide 'adduser --system --group --home /opt/mooc --no-create-home mooc'
guide 'install -d -o root -g root -m 0755 /opt/mooc'
guide 'install -d -o root -g mooc -m 0750 /etc/mooc'
guide 'install -d -o mooc -g mooc -m 0700 /var/backups/mooc'
guide 'install -d -m 0755 /var/www/acme'

step "3. the database"
guide 'runuser -u postgres -- createuser mooc'
guide 'runuser -u postgres -- createdb -O mooc mooc'
method=$(as_postgres psql -Atqc "SELECT auth_method FROM pg_hba_file_rules WHERE type = 'local'
  AND database && ARRAY['all', 'mooc'] AND user_name && ARRAY['all', 'mooc'] ORDER BY line_number LIMIT 1")
echo "the local socket's sign-in for mooc: ${method:-none} (the guide expects peer; trust lets it in too)"

step "4. the release and its Python environment"
git -c safe.directory='*' clone -q "$repo" /opt/mooc/app   # this checkout, whoever owns it
git -C /opt/mooc/app checkout -q --detach "$(git -c safe.directory='*' -C "$repo" rev-parse HEAD)"
guide 'git config --system --add safe.directory /opt/mooc/app'
guide 'python3 -m venv /opt/mooc/venv'
guide '/opt/mooc/venv/bin/pip install -e /opt/mooc/app' > /var/lib/mooc-smoke-install.pip.log 2>&1 ||
  { cat /var/lib/mooc-smoke-install.pip.log >&2; fail "pip install -e failed"; }
rm -f /var/lib/mooc-smoke-install.pip.log
guide 'ln -s /opt/mooc/app/deploy/mooc-admin /usr/local/bin/mooc-admin'

step "5. settings (editor: sed)"
guide 'install -o root -g mooc -m 0640 /opt/mooc/app/deploy/mooc.env.example /etc/mooc/mooc.env'
secret=$(guide "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'")
sed -i -e "s#^MOOC_SECRET_KEY=.*#MOOC_SECRET_KEY=$secret#" \
       -e "s#^MOOC_BASE_URL=.*#MOOC_BASE_URL=$base#" \
       -e "s#^MOOC_MAIL_BACKEND=.*#MOOC_MAIL_BACKEND=file\nMOOC_ALLOW_FILE_MAIL=true#" \
       -e "s#^MOOC_APP_PORT=.*#MOOC_APP_PORT=$app_port#" \
       -e "s#^NGINX_HTTP_LISTEN=.*#NGINX_HTTP_LISTEN=127.0.0.1:$http_port#" \
       -e "s#^NGINX_HTTPS_LISTEN=.*#NGINX_HTTPS_LISTEN=127.0.0.1:$https_port#" /etc/mooc/mooc.env
grep -q "^NGINX_SERVER_NAME=$NAME$" /etc/mooc/mooc.env || fail "the template's server name is not $NAME"

step "6. the schema, the courses, the first administrator"
guide 'mooc-admin db upgrade'
guide 'mooc-admin courses sync' | tail -n 2
created=$(guide_with_input "mooc-admin users create-admin --email quantri@example.gov.vn --name 'Quản trị hệ thống'" \
  "$PASSWORD" "$PASSWORD" 2>&1) || fail "users create-admin: $created"
grep -q "Created administrator $ADMIN\." <<<"$created" || fail "users create-admin: $created"
echo "Created administrator $ADMIN."

step "7. the certificate (the stand-in of the guide)"
guide 'install -d -m 0755 /etc/ssl/mooc'
guide 'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 -subj /CN=daotao.example.gov.vn -addext subjectAltName=DNS:daotao.example.gov.vn -keyout /etc/ssl/mooc/privkey.pem -out /etc/ssl/mooc/fullchain.pem' 2>/dev/null
guide 'chmod 0600 /etc/ssl/mooc/privkey.pem'

step "8. the units"
guide 'cp /opt/mooc/app/deploy/systemd/mooc*.service /opt/mooc/app/deploy/systemd/mooc*.timer /etc/systemd/system/'
# systemctl daemon-reload; systemctl enable --now mooc.service: by hand, below once nginx runs.

step "back up and restore, as the guide says (before the app first starts: nothing is connected)"
unit_start mooc-backup.service   # systemctl start mooc-backup.service
counts() {  # every table's row count, as the app's role reads it
  runuser -u mooc -- psql -d "$1" -Atc "SELECT table_name || ' ' || (xpath('/row/n/text()',
    query_to_xml(format('SELECT count(*) AS n FROM %I', table_name), false, true, '')))[1]::text
    FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name"
}
live=$(counts mooc)
dump=$(ls -t /var/backups/mooc/mooc-*.dump | head -1)
guide 'runuser -u postgres -- createdb -O mooc mooc_restored'
runuser -u mooc -- pg_restore --no-owner --exit-on-error --single-transaction --dbname=mooc_restored "$dump"
guide "runuser -u mooc -- psql -d mooc_restored -c 'SELECT count(*) FROM staff'"
restored=$(counts mooc_restored)
[ "$live" = "$restored" ] || fail "the restored database differs: $(diff <(echo "$live") <(echo "$restored"))"
grep -qx 'users 1' <<<"$restored" && grep -qx 'courses 4' <<<"$restored" ||
  fail "the restored database lacks the administrator or the courses"
echo "every table has the live one's row count ($(wc -l <<<"$restored") tables)"
step "swap it in (the app and the timers are not running yet), then install on: the rest runs on it"
guide "runuser -u postgres -- psql -c 'ALTER DATABASE mooc RENAME TO mooc_old' -c 'ALTER DATABASE mooc_restored RENAME TO mooc'"

step "9. nginx (Debian's nginx.conf: workers as www-data)"
guide 'python3 /opt/mooc/app/deploy/render.py /opt/mooc/app/deploy/nginx/mooc.conf /etc/mooc/mooc.env > /etc/nginx/sites-available/mooc.conf'
guide 'ln -s ../sites-available/mooc.conf /etc/nginx/sites-enabled/mooc.conf'
guide 'rm -f /etc/nginx/sites-enabled/default'
nginx -t -q
if [ "$nginx_was_running" = 1 ]; then
  nginx -s reload   # systemctl reload nginx
else
  nginx             # systemctl start nginx
  for _ in $(seq 1 50); do [ -s /run/nginx.pid ] && break; sleep 0.1; done
  remember "nginx_pid=$(cat /run/nginx.pid)"
fi
start_app

step "10. Let's Encrypt: its webroot answers over plain HTTP (certbot itself needs the Internet)"
token=smoke-$$-$RANDOM
install -d -m 0755 /var/www/acme/.well-known/acme-challenge
printf '%s' "$token.key-authorisation" > "/var/www/acme/.well-known/acme-challenge/$token"
challenge=$("${fetch[@]}" -w ' %{http_code}' "http://$NAME:$http_port/.well-known/acme-challenge/$token")
[ "$challenge" = "$token.key-authorisation 200" ] || fail "the challenge file through nginx: $challenge"
redirect=$("${fetch[@]}" -o /dev/null -w '%{http_code} %{redirect_url}' "http://$NAME:$http_port/healthz")
[ "$redirect" = "301 $base/healthz" ] || fail "plain HTTP does not redirect: $redirect"
echo "challenge served as plain HTTP; everything else: $redirect"

step "11. check: through nginx (as www-data), mooc-admin doctor"
static=$("${fetch[@]}" "$base/static/css/site.css" | sha256sum)
[ "$static" = "$(sha256sum < /opt/mooc/app/static/css/site.css)" ] || fail "static/css/site.css through nginx differs"
big=$(mktemp)
head -c $((21 * 1024 * 1024)) /dev/zero > "$big"   # above MOOC_MAX_UPLOAD_MB=20
# HTTP/1.1: over HTTP/2 nginx answers 413 and resets the stream, and curl may drop the body.
refused=$("${fetch[@]}" --http1.1 -o "$big.answer" -w '%{http_code}' -H 'Content-Type: text/csv' \
          --data-binary "@$big" "$base/roster/import" 2>/dev/null || true)
[ "$refused" = 413 ] && cmp -s "$big.answer" /var/cache/mooc/error-pages/413.html &&
  grep -q 'Tệp quá lớn' "$big.answer" ||
  fail "an oversize upload: $refused, not the app's 413 page: $(head -c 300 "$big.answer")"
rm -f "$big" "$big.answer"
internal=$("${fetch[@]}" -o /dev/null -w '%{http_code}' "$base/_mooc/courses/nghiep-vu-thanh-tra/course.md")
[ "$internal" = 404 ] || fail "the internal location answered a client: $internal"
echo "nginx read the clone's static files and the app's 413 page from /var/cache/mooc; /_mooc/ is internal"
sign_in

step "the timers step 8 enables: each service started once, as its timer would"
# At once: they are hours apart on a server, and none waits for another's data here.
pids=()
for timer in assign privacy reminders reports backup; do
  unit_start "mooc-$timer.service" > "/var/lib/mooc-smoke-install.$timer.log" 2>&1 &
  pids+=("$!")
done
for pid in "${pids[@]}"; do wait "$pid" || { cat /var/lib/mooc-smoke-install.*.log >&2; fail "a timer's service failed"; }; done
rm -f /var/lib/mooc-smoke-install.{assign,privacy,reminders,reports,backup}.log

guide 'mooc-admin doctor' > /var/lib/mooc-smoke-install.doctor.log || {
  cat /var/lib/mooc-smoke-install.doctor.log; fail "mooc-admin doctor found errors"; }
python3 - /var/lib/mooc-smoke-install.doctor.log <<'CHECK'
import re, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
print("\n".join(lines))
status = {m.group(2): (m.group(1), m.group(3)) for m in
          (re.match(r"(ok|warning|error) +([a-z_.]+): (.*)", line) for line in lines) if m}
expected_ok = ["settings.env", "settings.secret_key", "settings.cookies", "settings.base_url",
               "settings.proxy_count", "database", "database.migrations", "courses", "courses.sync",
               "schedule.training_assign", "schedule.reminders_send", "schedule.privacy_purge",
               "schedule.backup", "instance.permissions"]
wrong = [name for name in expected_ok if status.get(name, ("missing",))[0] != "ok"]
errors = [name for name, (level, _message) in status.items() if level == "error"]
assert not errors and not wrong, (errors, wrong)
assert "at commit" in status["courses.sync"][1], status["courses.sync"]  # git read the clone as mooc
CHECK
rm -f /var/lib/mooc-smoke-install.doctor.log

echo "smoke-install: the guide works as written (${SECONDS} s)"
