#!/usr/bin/env bash
# Nightly logical backup of the crm database: pg_dump in custom format, kept 14 days.
set -euo pipefail
: "${DATABASE_URL:?set DATABASE_URL}"
dir=${BACKUP_DIR:-./backups}
mkdir -p "$dir"
file="$dir/crm-$(date -u +%Y%m%dT%H%M%SZ).dump"
pg_dump --format=custom --no-owner --file="$file" "$DATABASE_URL"
find "$dir" -name 'crm-*.dump' -mtime +14 -delete
echo "$file"
