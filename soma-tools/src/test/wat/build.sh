#!/usr/bin/env bash
# Compiles the test tools' WebAssembly text (*.wat) into the modules the tests load
# (src/test/resources/wasm/*.wasm, committed). Needs wabt's wat2wasm (Debian: apt-get install wabt).
# Run from anywhere: bash soma-tools/src/test/wat/build.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../resources/wasm"
mkdir -p "$out"
for source in "$here"/*.wat; do
  name="$(basename "$source" .wat)"
  wat2wasm "$source" -o "$out/$name.wasm"
done
ls -l "$out"
