#!/usr/bin/env bash
# For a helper working in another worktree: the device call copies the session checkout, not the
# worktree, so this stages the worktree's tree and bench/gpu/prepare-carry.sh's .carry/ in an ignored
# folder of the session checkout, small enough for one call's 64 MiB beside that checkout (26 MiB on
# 2026-12-01, its models included):
#   - the tree (src, native without build/, test/gpu, bench, dist/bench, dist/src) and the Node-API
#     headers as one tar.xz;
#   - Node recompressed with xz's x86 filter (1 MB less than prepare-carry's; slow: ~8 min on 2 vCPUs,
#     kept between runs);
#   - vitest, zod and commander (test/gpu/build-engine.test.ts), their run-time files only;
#   - --refs bayer: the CPU references of every real-image case and of the random frames in Bayer RG8
#     only (59 of 78 cases, 8.2 MB instead of 11.3: the random frames' references do not compress);
#     the run must then set INSPECTD_GPU_MIN_CASES=59, and its report must say which cases ran;
#   - --refs bayer-only: every Bayer RG8 case, real and random (27 of 78; for a change to the Bayer
#     kernels only: the checkout had grown to 27.1 MiB on 2026-12-02, and 59 cases no longer fit).
# Prints the device command's first part.
#   bench/gpu/stage-overlay.sh SESSION_CHECKOUT NAME [--refs all|bayer|bayer-only]
set -euo pipefail
cd "$(dirname "$0")/../.."
session="$1"; name="$2"; refs="${4:-all}"
[ "${3:-}" = "--refs" ] || refs=all
o="$session/.carry/$name/overlay"
cache="$session/.carry/$name/cache"
mkdir -p "$cache"
rm -rf "$o" && mkdir -p "$o/.carry/gpu-refs"
# Stripped first (the dev machine's Node 20 carries its debug info: 98.9 MB, 86.3 stripped; the
# addon's napi_* symbols are in .dynsym, which strip keeps): the checkout had grown to 29.5 MiB on
# 2026-12-02 and the unstripped Node's 23.1 MB no longer fitted beside it.
if [ ! -f "$cache/node.xz" ]; then
  strip -o "$cache/node" "$(readlink -f "$(command -v node)")"
  xz --x86 --lzma2=preset=9e -c "$cache/node" >"$cache/node.xz" && rm "$cache/node"
fi
cp "$cache/node.xz" "$o/.carry/node.xz"
if [ ! -f "$cache/node_modules.tar.xz" ]; then
  node -e "
    const fs = require('fs'), pk = JSON.parse(fs.readFileSync('package-lock.json')).packages, seen = new Set();
    const walk = (n) => { const k = 'node_modules/' + n; if (!pk[k] || seen.has(k)) return; seen.add(k);
      for (const d of Object.keys({ ...pk[k].dependencies, ...pk[k].optionalDependencies })) walk(d); };
    ['vitest', 'zod', 'commander'].forEach(walk);
    console.log([...seen].filter((k) => fs.existsSync(k)).join('\n'));" >"$cache/deps.txt"
  # Run-time files only: no type declarations, source maps, READMEs or zod's TypeScript sources.
  tar --exclude='*.d.ts' --exclude='*.d.cts' --exclude='*.d.mts' --exclude='*.map' --exclude='*.md' --exclude='node_modules/zod/src' \
    --exclude='node_modules/zod/v4/**/*.ts' -cf - -T "$cache/deps.txt" | xz -T2 -9e >"$cache/node_modules.tar.xz"
fi
cp "$cache/node_modules.tar.xz" "$o/.carry/"
if [ "$refs" = bayer ] || [ "$refs" = bayer-only ]; then
  xz -dc .carry/gpu-refs/refs.bin.xz >"$cache/refs-all.bin"
  node -e "
    const fs = require('fs'), [dir, all, out, only] = process.argv.slice(1);
    const m = JSON.parse(fs.readFileSync(dir + '/manifest.json', 'utf8')), blob = fs.readFileSync(all);
    const keep = m.cases.filter((c) => c.frame.format === 'bayer_rg8' || (only !== 'bayer-only' && c.frame.kind === 'image'));
    const chunks = [], frameAt = new Map(); let off = 0;
    for (const c of keep) if (c.frame.kind === 'image' && !frameAt.has(c.frame.offset)) {
      frameAt.set(c.frame.offset, off); chunks.push(blob.subarray(c.frame.offset, c.frame.offset + c.frame.bytes)); off += c.frame.bytes; }
    const cases = keep.map((c) => { const n = structuredClone(c); if (n.frame.kind === 'image') n.frame.offset = frameAt.get(c.frame.offset);
      n.refOffset = off; chunks.push(blob.subarray(c.refOffset, c.refOffset + c.refBytes)); off += c.refBytes; return n; });
    fs.writeFileSync(out + '/refs.bin', Buffer.concat(chunks));
    const subset = only === 'bayer-only' ? 'Bayer RG8 only (real and random frames)' : 'real images, random frames in Bayer RG8 only';
    fs.writeFileSync(out + '/manifest.json', JSON.stringify({ ...m, subset, cases }, null, 1));
    console.log('references:', cases.length, 'of', m.cases.length, 'cases');" .carry/gpu-refs "$cache/refs-all.bin" "$o/.carry/gpu-refs" "$refs"
  rm "$cache/refs-all.bin"
  xz -T2 -6 "$o/.carry/gpu-refs/refs.bin"
else
  cp .carry/gpu-refs/manifest.json .carry/gpu-refs/refs.bin.xz "$o/.carry/gpu-refs/"
fi
# The Node-API headers ride in the tree's archive (0.4 MB raw, 0.1 compressed: the carry had 18 KB
# too many on 2026-12-02).
# (No source maps, no earlier runs' raw output: the session checkout has those.)
# .carry/prebuilt, where there is one: the addon and its mutants built here (run-on-gpu-machine.sh's
# INSPECTD_PREBUILT), so the device call builds nothing.
tar --exclude=native/build --exclude='*.map' --exclude='bench/gpu/h200-*' -cf - src native test/gpu bench dist/bench dist/src .carry/node-api \
  $([ -d .carry/prebuilt ] && echo .carry/prebuilt) |
  xz -T2 -6 >"$o/tree.tar.xz"
# Counted as the disk holds them (whole blocks): the device call refused 63.6 MiB of bytes that made
# 65.1 MiB of blocks.
tracked=$(cd "$session" && { git ls-files -z; git ls-files -z --others --exclude-standard; } | xargs -0 du -B1 -c 2>/dev/null | awk '$2 == "total" {s += $1} END {print s}')
carried=$(du -B1 -s "$o" | cut -f1)
awk -v t="$tracked" -v c="$carried" 'BEGIN {printf "checkout %.1f MiB + overlay %.1f MiB = %.1f MiB (limit 64)\n", t / 1048576, c / 1048576, (t + c) / 1048576}'
echo "carry: [\".carry/$name/overlay\"]; command begins: cp -a .carry/$name/overlay/.carry/. .carry/ && tar -xJf .carry/$name/overlay/tree.tar.xz &&"
