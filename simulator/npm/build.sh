#!/usr/bin/env bash
# Builds the npm packages of toolcall-sim the way esbuild and Biome ship
# binaries: `@toolcall/sim-<platform>-<arch>` holding this machine's release
# binary (selected by npm through its `os`/`cpu` fields), and the launcher
# `toolcall-sim` (a `bin`, the Node API and the Vitest helper) that lists it
# in `optionalDependencies`. Packs both into OUT (default target/npm).
#
#   simulator/npm/build.sh [OUT]
#
# Set TOOLCALL_SIM_BIN to pack an already built binary instead of running
# `cargo build --release`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$root/target/npm}"
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -1)"

binary="${TOOLCALL_SIM_BIN:-}"
if [[ -z "$binary" ]]; then
  (cd "$root" && cargo build --release --locked -p toolcall-sim --features mimalloc --bin toolcall-sim)
  binary="$(cd "$root" && cargo metadata --format-version 1 --no-deps \
    | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')/release/toolcall-sim"
fi

platform="$(node -p process.platform)"
arch="$(node -p process.arch)"
name="@toolcall/sim-$platform-$arch"
rm -rf "$out/stage"
mkdir -p "$out/stage/platform/bin" "$out/stage/launcher"

cp "$binary" "$out/stage/platform/bin/toolcall-sim"
chmod 755 "$out/stage/platform/bin/toolcall-sim"
cat > "$out/stage/platform/package.json" <<JSON
{
  "name": "$name",
  "version": "$version",
  "description": "The toolcall-sim binary for $platform-$arch (installed through the toolcall-sim package)",
  "license": "MIT OR Apache-2.0",
  "os": ["$platform"],
  "cpu": ["$arch"],
  "files": ["bin"],
  "preferUnplugged": true
}
JSON

cp -R "$here/toolcall-sim/." "$out/stage/launcher/"
cp "$here/README.md" "$out/stage/launcher/README.md"
# The launcher asks for this version of the platform package.
node -e '
  const fs = require("fs");
  const [file, name, version] = process.argv.slice(1);
  const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
  pkg.version = version;
  pkg.optionalDependencies = { [name]: version };
  fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
' "$out/stage/launcher/package.json" "$name" "$version"

(cd "$out" && npm pack --silent ./stage/platform ./stage/launcher)
ls "$out"/*.tgz
