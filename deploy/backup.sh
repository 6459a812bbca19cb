#!/bin/sh
# Back up the platform's database into MOOC_BACKUP_DIR (mooc-backup.timer runs it nightly with
# /etc/mooc/mooc.env): PostgreSQL with pg_dump (custom format, for pg_restore), SQLite with
# `mooc backup` (SQLite's online backup). Checks the file it wrote, then deletes backups older
# than MOOC_BACKUP_KEEP_DAYS. Prints the file's name; exit status 0 only when all went well.
# tests/test_deploy.py runs it and restores what it wrote; deploy/smoke-install.sh runs it as
# mooc-backup.service would and restores it as the guide says (docs/operations.md, "Back up and restore").
set -eu

: "${MOOC_DATABASE_URL:?MOOC_DATABASE_URL is not set (EnvironmentFile=/etc/mooc/mooc.env)}"
dir=${MOOC_BACKUP_DIR:-/var/backups/mooc}
keep=${MOOC_BACKUP_KEEP_DAYS:-14}
mooc=${MOOC_BIN:-/opt/mooc/venv/bin/mooc}
stamp=$(date +%Y-%m-%dT%H%M%S)
umask 077
mkdir -p "$dir" 2>/dev/null || true
if [ ! -d "$dir" ] || [ ! -w "$dir" ]; then
  # Under mooc-backup.service every folder but ReadWritePaths is read-only.
  echo "backup.sh: cannot write $dir (MOOC_BACKUP_DIR): create it for this user" \
       "(install -d -o mooc -g mooc -m 0700 $dir) and allow it in mooc-backup.service's" \
       "ReadWritePaths (systemctl edit mooc-backup)" >&2
  exit 1
fi

case "$MOOC_DATABASE_URL" in
  postgresql*|postgres:*)
    # The app's SQLAlchemy URL (postgresql+psycopg://...) as libpq reads it (postgresql://...).
    url="postgresql://${MOOC_DATABASE_URL#*://}"
    file="$dir/mooc-$stamp.dump"
    pg_dump --format=custom --file="$file.partial" --dbname="$url"
    pg_restore --list "$file.partial" >/dev/null   # readable to the end, or no backup
    mv "$file.partial" "$file"
    ;;
  sqlite*)
    file="$dir/mooc-$stamp.sqlite3"
    "$mooc" backup "$file" >/dev/null
    ;;
  *)
    echo "backup.sh: cannot back up $MOOC_DATABASE_URL (PostgreSQL or SQLite only)" >&2
    exit 1
    ;;
esac

find "$dir" -maxdepth 1 -type f -name 'mooc-*' -mtime "+$keep" -delete
echo "$file"
