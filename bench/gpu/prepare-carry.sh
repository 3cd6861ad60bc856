#!/usr/bin/env bash
# Makes .carry/ for bench/gpu/run-on-gpu-machine.sh, on the development machine (after
# scripts/setup.sh, so dist/ and the addon are built): Node itself, the packages the GPU tests need
# (vitest, zod, commander for the CLI test), the CPU references (preprocessed images, and the CPU
# chain's verdicts with the COCO model they need), the Node-API headers. The GPU machine's own
# Python onnxruntime runs the models there (bench/gpu/ort-peer.py): onnxruntime-node's 45 MB library
# does not fit one device call's 64 MiB beside Node and the references. Prints the carry list.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .carry/gpu-refs .carry/node-api/addon-api
[ -f .carry/node.xz ] || xz -T2 -6 -c "$(readlink -f "$(command -v node)")" >.carry/node.xz
if [ ! -f .carry/node_modules.tar.xz ]; then
  # vitest, zod and commander with everything they need, read off package-lock.json.
  node -e "
    const fs = require('fs'), pk = JSON.parse(fs.readFileSync('package-lock.json')).packages, seen = new Set();
    const walk = (n) => { const k = 'node_modules/' + n; if (!pk[k] || seen.has(k)) return; seen.add(k);
      for (const d of Object.keys({ ...pk[k].dependencies, ...pk[k].optionalDependencies })) walk(d); };
    ['vitest', 'zod', 'commander'].forEach(walk);
    console.log([...seen].filter((k) => fs.existsSync(k)).join('\n'));" >/tmp/inspectd-carry-deps.txt
  tar -cf - -T /tmp/inspectd-carry-deps.txt | xz -T2 -6 >.carry/node_modules.tar.xz
fi
node dist/bench/gpu/make-references.js .carry/gpu-refs
node dist/bench/gpu/make-verdict-references.js .carry/gpu-refs
xz -T2 -6 -f .carry/gpu-refs/refs.bin .carry/gpu-refs/verdicts.bin
nodeinc="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")/include/node"
cp "$nodeinc"/{node_api.h,node_api_types.h,js_native_api.h,js_native_api_types.h} .carry/node-api/
cp node_modules/node-addon-api/*.h .carry/node-api/addon-api/
du -ch .carry dist | tail -1
echo 'carry: [".carry", "dist"] (a helper in another worktree: copy the tree, dist and .carry into an ignored folder of the session checkout and carry that)'
