#!/bin/sh
# Packs a bundle (build-bundle.sh) as a .deb: ./edge-agent/packaging/build-deb.sh BUNDLE linux-x64|linux-aarch64 OUT.deb
#   /opt/mass-edge/agent (the bundle), /etc/mass-edge/agent.yml (a conffile), the systemd units
#   (restart on failure; a watchdog timer on the readiness probe), data in /var/lib/mass-edge.
set -eu
bundle="$1"
platform="$2"
deb="$3"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
case "$platform" in
  linux-x64|linux-x64-gpu) arch=amd64 ;;
  linux-aarch64) arch=arm64 ;;
  *) echo "build-deb: unknown platform '$platform'" >&2; exit 2 ;;
esac
version="$(sed -n 's:.*<version>\(.*\)</version>.*:\1:p' "$root/pom.xml" | head -1 | sed 's/-SNAPSHOT/~snapshot/')"
stage="$(mktemp -d)"
mkdir -p "$(dirname "$deb")"
mkdir -p "$stage/DEBIAN" "$stage/opt/mass-edge" "$stage/etc/mass-edge" "$stage/lib/systemd/system"
cp -r "$bundle" "$stage/opt/mass-edge/agent"
mkdir -p "$stage/opt/mass-edge/agent/docs"
cp "$root/docs/configuration.md" "$root/docs/security.md" "$stage/opt/mass-edge/agent/docs/"
cp "$here/agent.yml" "$stage/etc/mass-edge/agent.yml"
cp "$here/mass-agent.service" "$here/mass-agent-watchdog.service" "$here/mass-agent-watchdog.timer" "$stage/lib/systemd/system/"
size="$(du -sk "$stage" | cut -f1)"
# the system libraries the bundle's natives link: ONNX Runtime's (C and C++ runtimes) and, with a
# jlink runtime (Debian's OpenJDK build, which uses the system's zlib, image, colour, font and ALSA
# libraries: JPEG decoding and Java Sound need them), the runtime's; without one, a Java 17
depends="ffmpeg, curl, adduser, libc6, libstdc++6, libgcc-s1"
if [ -d "$bundle/runtime" ]; then
  depends="$depends, zlib1g, libjpeg62-turbo | libjpeg62, libpng16-16 | libpng16-16t64, liblcms2-2, libgif7, libfreetype6, libharfbuzz0b, libasound2 | libasound2t64"
else
  depends="$depends, openjdk-17-jre-headless | java17-runtime-headless"
fi
cat > "$stage/DEBIAN/control" <<CONTROL
Package: mass-edge-agent
Version: $version
Architecture: $arch
Maintainer: Mass Edge <dev@massedge.invalid>
Installed-Size: $size
Depends: $depends
Section: misc
Priority: optional
Description: Mass Edge agent: on-device inference runtime
 Runs quantized models (ONNX Runtime, TensorFlow Lite) against cameras, microphones, GPIO and
 CoAP sensors, and syncs models, configuration and telemetry with the Mass Edge cloud bridge.
CONTROL
echo /etc/mass-edge/agent.yml > "$stage/DEBIAN/conffiles"
cat > "$stage/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  getent passwd mass-edge >/dev/null || adduser --system --group --home /var/lib/mass-edge --no-create-home mass-edge
  for g in video audio gpio; do getent group "$g" >/dev/null && adduser mass-edge "$g" >/dev/null || true; done
  mkdir -p /var/lib/mass-edge && chown mass-edge:mass-edge /var/lib/mass-edge && chmod 750 /var/lib/mass-edge
  # a runtime linked on another architecture comes without its base class-data archive: made here,
  # by the device's own JVM (the agent's AppCDS archive needs it; without it the agent only starts
  # slower)
  rt=/opt/mass-edge/agent/runtime
  if [ -x "$rt/bin/java" ] && [ ! -f "$rt/lib/server/classes.jsa" ]; then
    "$rt/bin/java" -Xshare:dump -Xlog:cds=off >/dev/null 2>&1 && touch "$rt/lib/server/.made-by-postinst" || true
  fi
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable --now mass-agent.service mass-agent-watchdog.timer || true
  fi
fi
POSTINST
cat > "$stage/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
  systemctl disable --now mass-agent-watchdog.timer mass-agent.service || true
fi
# the class-data archive postinst made is not the package's: it goes with it (and is made again
# after an upgrade)
rt=/opt/mass-edge/agent/runtime/lib/server
if [ -f "$rt/.made-by-postinst" ]; then
  rm -f "$rt/classes.jsa" "$rt/.made-by-postinst"
fi
PRERM
chmod 755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
rm -rf "$stage"
echo "deb $platform: $deb ($(du -h "$deb" | cut -f1))"
