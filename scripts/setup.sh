#!/usr/bin/env bash
# Idempotent set-up, run by `npm start` and `npm test` before anything else: installs the Debian
# packages inspectd builds against and runs (OpenCV, mosquitto, a C++ toolchain), the npm
# dependencies (native ones built from source, nothing downloaded but npm packages), and compiles
# the TypeScript. Each step is skipped when already done. Progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf 'setup: %s\n' "$*" >&2; }

# sqlite3: the fault tests hold the verdict log's lock from another process with its shell.
# libsystemd-dev: the optional sd-notify package (sd_notify for the Type=notify unit) builds against it.
# systemd (systemd-analyze, systemd-sysusers), prometheus (promtool) and shellcheck check the unit files,
# /metrics and the Dockerfile's RUN steps in tests.
packages=(libopencv-dev mosquitto mosquitto-clients build-essential pkg-config python3 sqlite3 libsystemd-dev systemd prometheus shellcheck openssl)
# Cameras: GStreamer for OpenCV's pipelines (videoconvert/appsink in base; rtspsrc, JPEG in good; bayer2rgb,
# OpenH264 in bad), Aravis for GigE Vision (aravissrc ships in libaravis-0.8-0; arv-tool-0.8 checks a
# camera is there; aravis-tools has the fake GigE camera the tests run), GStreamer's RTSP server for the
# RTSP tests, and iproute2 for the network namespace the GigE tests run in.
packages+=(gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad libaravis-0.8-0 aravis-tools
  aravis-tools-cli python3-gi gir1.2-gst-rtsp-server-1.0 iproute2 gir1.2-aravis-0.8)
# Plant-facing outputs: Chromium drives the operator page's browser tests (playwright-core, never a browser
# download), tshark dissects OPC UA on a loopback capture, protoc decodes Sparkplug B payloads.
packages+=(chromium tshark protobuf-compiler)
# Firefox ESR: the operator page's browser tests also run in Firefox at tablet width, over WebDriver BiDi
# (test/page/firefox.ts; nothing downloaded).
packages+=(firefox-esr)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  say "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  # Debian starts a system-wide mosquitto on 127.0.0.1:1883 when it is installed; that would take the
  # embedded broker's port. Only a broker this script just installed is stopped and disabled.
  if [[ " ${missing[*]} " == *" mosquitto "* ]] && command -v systemctl >/dev/null && systemctl is-active --quiet mosquitto 2>/dev/null; then
    say "disabling the distribution's mosquitto service (inspectd runs its own on 127.0.0.1)"
    $sudo systemctl disable --now mosquitto >&2 || true
  fi
  # The prometheus package is here for promtool; its server (:9090) is not wanted, so the same applies.
  if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
    say "disabling the distribution's prometheus service (only its promtool is used)"
    $sudo systemctl disable --now prometheus >&2 || true
  fi
fi

stamp=node_modules/.inspectd-deps
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  say "installing npm dependencies (builds OpenCV and SQLite bindings from source; a few minutes the first time)"
  # OpenCV bindings link Debian's libopencv-dev (autobuild off: no OpenCV download); better-sqlite3 builds
  # from source rather than fetching a prebuilt binary; onnxruntime-node's CPU binaries ship in the npm
  # package and its GPU download is skipped (its install script is also denied in allowScripts).
  OPENCV4NODEJS_DISABLE_AUTOBUILD=1 \
  OPENCV_INCLUDE_DIR=/usr/include/opencv4 \
  OPENCV_LIB_DIR="/usr/lib/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)" \
  OPENCV_BIN_DIR=/usr/bin \
  ONNXRUNTIME_NODE_INSTALL=skip \
  ONNXRUNTIME_NODE_INSTALL_CUDA=skip \
  npm_config_build_from_source=true \
  JOBS="$(nproc)" \
    npm ci --no-fund --no-audit --loglevel=error >&2
  touch "$stamp"
fi

# The GPU addon (native/): always built, so it always loads. nvcc found -> the CUDA parts are compiled
# in; TensorRT headers found -> the TensorRT code too (the libraries are opened at run time, never
# linked). Node-API headers come from the Node install itself, so nothing is downloaded.
addon=native/build/Release/inspectd_gpu.node
if [ ! -f "$addon" ] || [ -n "$(find native/src native/binding.gyp native/detect.sh -newer "$addon" 2>/dev/null | head -n 1)" ]; then
  node_root="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
  # npm's own node-gyp (bundled with every npm), unless the project's node_modules has one.
  gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  [ -f node_modules/node-gyp/bin/node-gyp.js ] && gyp=node_modules/node-gyp/bin/node-gyp.js
  gyp="$(readlink -f "$gyp")"
  say "building the GPU addon ($( [ -n "$(sh native/detect.sh cuda)" ] && echo "with CUDA from $(sh native/detect.sh cuda)" || echo "without CUDA: no nvcc found" ))"
  (cd native && JOBS="$(nproc)" node "$gyp" rebuild --nodedir="$node_root" --loglevel=error >&2)
fi

# The operator page (src/page/): TypeScript and uPlot bundled by esbuild into dist/page/, served
# by the daemon itself (no CDN, nothing fetched at run time).
if [ ! -f dist/page/page.js ] || [ -n "$(find src/page scripts/build-page.mjs node_modules/uplot/package.json -newer dist/page/page.js 2>/dev/null | head -n 1)" ]; then
  say "building the operator page"
  node scripts/build-page.mjs >&2
fi

if [ ! -f dist/.built ] || [ -n "$(find src bench tools tsconfig.json package.json -newer dist/.built \( -name '*.ts' -o -name '*.json' \) 2>/dev/null | head -n 1)" ]; then
  say "compiling TypeScript"
  npx tsc -p tsconfig.json >&2
  touch dist/.built
fi
