#!/bin/sh
# Builds the agent bundle for one platform: ./edge-agent/packaging/build-bundle.sh linux-x64|linux-x64-gpu|linux-aarch64 OUT
#   (linux-x64-gpu: ONNX Runtime with CUDA and TensorRT, from an agent built with -Pgpu)
#   OUT/edge-agent.jar, OUT/lib/ (the jars; ONNX Runtime's without its natives, the matching
#   TensorFlow Lite / JavaCPP jars), OUT/native/ (ONNX Runtime's libraries for this platform), OUT/bin/, OUT/jvm.options, OUT/models/, and OUT/runtime/ (a
#   jlink-trimmed Java runtime) when the platform is this machine's, or when that platform's jmods
#   are in target/jmods/PLATFORM (fetch-jmods.sh) or MASS_JMODS.
# Needs the agent built (./mvnw -B install -DskipTests) and the models fetched (./mass models).
set -eu
platform="$1"
out="$2"
root="$(cd "$(dirname "$0")/../.." && pwd)"
agent="$root/edge-agent"
# ortjar: the ONNX Runtime jar this bundle takes (the CPU one, or the GPU one of a -Pgpu build)
case "$platform" in
  linux-x64) ort=linux-x64; cpp=linux-x86_64; ortjar=onnxruntime ;;
  linux-x64-gpu) ort=linux-x64; cpp=linux-x86_64; ortjar=onnxruntime_gpu ;;
  linux-aarch64) ort=linux-aarch64; cpp=linux-arm64; ortjar=onnxruntime ;;
  *) echo "build-bundle: unknown platform '$platform' (linux-x64, linux-x64-gpu or linux-aarch64)" >&2; exit 2 ;;
esac
[ -f "$agent/target/edge-agent.jar" ] || { echo "build-bundle: build the agent first (./mvnw -B install -DskipTests)" >&2; exit 1; }
ls "$agent"/target/lib/"$ortjar"-[0-9]*.jar >/dev/null 2>&1 || {
  if [ "$ortjar" = onnxruntime_gpu ]; then hint="./mvnw -B -Pgpu install -DskipTests"; else hint="./mvnw -B install -DskipTests"; fi
  echo "build-bundle: no $ortjar jar in edge-agent/target/lib: build the agent with $hint" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out/lib" "$out/bin" "$out/models"
out="$(cd "$out" && pwd)" # absolute: the ONNX Runtime jar is zipped from a temporary folder
cp "$agent/target/edge-agent.jar" "$out/"
cp "$agent/jvm.options" "$out/"
cp "$agent/packaging/bin/mass-agent" "$agent/packaging/bin/mass-agent-watchdog" "$out/bin/"
for jar in "$agent"/target/lib/*.jar; do
  name="$(basename "$jar")"
  case "$name" in
    onnxruntime-[0-9]*.jar|onnxruntime_gpu-[0-9]*.jar)
      case "$name" in "$ortjar"-[0-9]*) ;; *) continue ;; esac
      # ONNX Runtime ships every platform's natives in one jar: this platform's go to OUT/native/,
      # loaded from there (onnxruntime.native.path) instead of being unpacked to /tmp at every start
      tmp="$(mktemp -d)"
      (cd "$tmp" && unzip -q "$jar")
      mkdir -p "$out/native"
      cp "$tmp/ai/onnxruntime/native/$ort"/*.so "$out/native/"
      rm -rf "$tmp/ai/onnxruntime/native"
      (cd "$tmp" && zip -q -r -X "$out/lib/$name" .)
      rm -rf "$tmp" ;;
    *-linux-x86_64.jar)
      if [ "$cpp" = linux-x86_64 ]; then cp "$jar" "$out/lib/"; fi ;;
    pi4j-plugin-mock-*.jar) ;; # tests only: a device has its real GPIO
    *) cp "$jar" "$out/lib/" ;;
  esac
done
if [ "$cpp" != linux-x86_64 ]; then
  # the JavaCPP natives of that platform: copied by the agent's build (target/platform/)
  natives="$agent/target/platform/$cpp"
  ls "$natives"/*-"$cpp".jar >/dev/null 2>&1 || { echo "build-bundle: $natives is empty: build the agent with ./mvnw -B install -DskipTests" >&2; exit 1; }
  cp "$natives"/*-"$cpp".jar "$out/lib/"
fi
for m in face-blazeface-128 vad-silero; do
  [ -d "$root/models/$m" ] && cp -r "$root/models/$m" "$out/models/"
done
host="$(uname -m)"
jmods=""
foreign="${MASS_JMODS:-$root/target/jmods/$platform}" # another platform's (fetch-jmods.sh)
if { [ "$host" = x86_64 ] && [ "$ort" = linux-x64 ]; } || { [ "$host" = aarch64 ] && [ "$platform" = linux-aarch64 ]; }; then
  jmods=native # this machine's own
elif [ -f "$foreign/java.base.jmod" ]; then
  jmods="$foreign"
else
  echo "build-bundle: no Java runtime in the $platform bundle: no $platform jmods (edge-agent/packaging/fetch-jmods.sh $platform, or MASS_JMODS)" >&2
fi
if [ -n "$jmods" ]; then
  # the modules the agent's jars need (jdeps), and no more
  modules="$(jdeps --multi-release 17 --ignore-missing-deps --print-module-deps --class-path "$out/lib/*" "$out/edge-agent.jar" 2>/dev/null || true)"
  [ -n "$modules" ] || modules=java.base,java.desktop,java.logging,java.management,java.naming,java.net.http,java.sql,jdk.unsupported
  # and what jdeps cannot see: TLS with EC keys, DNS, the management agent for jcmd, and the jar
  # file system Micronaut finds as a service at run time
  modules="$modules,jdk.crypto.ec,jdk.naming.dns,jdk.management,jdk.zipfs"
  if [ "$jmods" = native ]; then
    jlink --add-modules "$modules" --strip-debug --no-header-files --no-man-pages --compress=2 --generate-cds-archive --output "$out/runtime"
    # the base class-data archive (needed by the agent's own, see bin/mass-agent); the one for
    # heaps without compressed pointers (over 32 GB) is never used with -Xmx128m
    rm -f "$out/runtime/lib/server/classes_nocoops.jsa"
  else
    # linked here for another architecture: this machine's objcopy cannot strip its libraries and
    # its class-data archive can only be made by running it, which the .deb does on the device
    jlink --module-path "$jmods" --add-modules "$modules" --strip-java-debug-attributes --no-header-files --no-man-pages --compress=2 --output "$out/runtime"
  fi
fi
echo "bundle $platform: $out ($(du -sh "$out" | cut -f1))"
