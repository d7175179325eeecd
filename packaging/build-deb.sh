#!/usr/bin/env bash
# Builds the Debian package and checks it: a static (musl) binary when the musl target and
# Debian's musl-tools are available, else the glibc build (said clearly); the man page from
# the clap definitions; lintian without errors; the unit's systemd-analyze exposure <= 2.0.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo-deb >/dev/null || cargo install cargo-deb --locked

target=""
if command -v musl-gcc >/dev/null && timeout 180 rustup target add x86_64-unknown-linux-musl >/dev/null 2>&1; then
    target="x86_64-unknown-linux-musl"
    echo "building a static binary for $target"
else
    echo "NOTE: musl target or musl-tools unavailable: packaging the glibc build instead"
fi
out="target/${target:+$target/}release"
cargo build --release ${target:+--target "$target"}

mkdir -p target/man
"$out/kontor" man | gzip -9n > target/man/kontor.1.gz

deb=$(cargo deb --no-build ${target:+--target "$target"} | tail -n 1)
echo "package: $deb"
file "$out/kontor" 2>/dev/null || true

lintian --fail-on error "$deb"
systemd-analyze security --offline=yes --threshold=20 systemd/kontor.service | tail -n 1
echo "lintian: no errors; systemd-analyze security: exposure within 2.0"
