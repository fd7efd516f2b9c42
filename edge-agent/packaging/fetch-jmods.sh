#!/bin/sh
# Fetches another platform's Java 17 modules (jmods), so build-bundle.sh can link that platform's
# trimmed runtime with this machine's jlink (jlink links for any architecture of its own Java
# release; only the class-data archive must be made on the device, see build-deb.sh):
#   ./edge-agent/packaging/fetch-jmods.sh linux-aarch64 [OUT]   (OUT: target/jmods/linux-aarch64)
# Takes Debian's openjdk-17-jdk-headless for that architecture with apt-get download; the first
# time it adds the architecture to dpkg (root) and updates the package lists.
set -eu
platform="$1"
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${2:-$root/target/jmods/$platform}"
case "$platform" in
  linux-aarch64) arch=arm64 ;;
  linux-x64|linux-x64-gpu) arch=amd64 ;;
  *) echo "fetch-jmods: unknown platform '$platform' (linux-x64 or linux-aarch64)" >&2; exit 2 ;;
esac
command -v apt-get >/dev/null || { echo "fetch-jmods: needs apt-get (Debian or Ubuntu); or put an $arch JDK 17's jmods folder at $out" >&2; exit 1; }
if [ "$(dpkg --print-architecture)" != "$arch" ] && ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
  [ "$(id -u)" = 0 ] || { echo "fetch-jmods: run as root once (dpkg --add-architecture $arch; apt-get update), or put an $arch JDK 17's jmods folder at $out" >&2; exit 1; }
  dpkg --add-architecture "$arch"
  apt-get update -qq
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# apt's sandbox user must be able to write where it downloads
chmod 777 "$tmp"
(cd "$tmp" && apt-get download -qq "openjdk-17-jdk-headless:$arch" >/dev/null 2>&1) \
  || { apt-get update -qq && (cd "$tmp" && apt-get download -qq "openjdk-17-jdk-headless:$arch" >/dev/null); }
dpkg-deb -x "$tmp"/openjdk-17-jdk-headless_*.deb "$tmp/x"
jmods="$(ls -d "$tmp"/x/usr/lib/jvm/java-17-openjdk-"$arch"/jmods)"
[ -f "$jmods/java.base.jmod" ] || { echo "fetch-jmods: no java.base.jmod in the $arch package" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$(dirname "$out")"
mv "$jmods" "$out"
echo "jmods $platform: $out ($(basename "$tmp"/openjdk-17-jdk-headless_*.deb))"
