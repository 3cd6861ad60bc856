// node sum.mjs FILE [N]: self time by function (and by file), of a .cpuprofile
import { readFileSync } from 'node:fs';
const p = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const n = Number(process.argv[3] ?? 40);
const byId = new Map(p.nodes.map((x) => [x.id, x]));
const self = new Map();
const dt = p.timeDeltas; let total = 0;
for (let i = 0; i < p.samples.length; i++) { const d = dt[i] ?? 0; total += d; const node = byId.get(p.samples[i]); self.set(node.id, (self.get(node.id) ?? 0) + d); }
const fn = new Map(), file = new Map();
for (const [id, t] of self) { const c = byId.get(id).callFrame; const k = `${c.functionName || '(anon)'} ${c.url.replace(/.*\/(node_modules|dist)\//, '$1/')}:${c.lineNumber}`; fn.set(k, (fn.get(k) ?? 0) + t);
  const f = c.url ? c.url.replace(/.*\/(node_modules\/[^/]+|dist\/src\/[^/]+|node:[^/]+).*/, '$1') : c.functionName; file.set(f, (file.get(f) ?? 0) + t); }
console.log(`total ${(total/1000).toFixed(0)} ms`);
for (const [k, t] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log((t/1000).toFixed(1).padStart(8), (100*t/total).toFixed(2).padStart(6) + '%', k);
console.log('--- by file');
for (const [k, t] of [...file].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log((t/1000).toFixed(1).padStart(8), (100*t/total).toFixed(2).padStart(6) + '%', k);
