// Builds the operator page (src/page/) into dist/page/: one script and one stylesheet, uPlot
// bundled in, so the daemon serves every asset itself and the page works with no internet.
// Run by scripts/setup.sh when src/page/ changed; `node scripts/build-page.mjs` by hand.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'page');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, 'src', 'page', 'main.ts')],
  bundle: true,
  // main.ts imports the CSS too: esbuild writes page.css beside page.js.
  outfile: join(out, 'page.js'),
  format: 'iife',
  // Browsers of the last few years on shop-floor PCs and tablets (Chromium, Firefox, Safari).
  target: ['chrome100', 'firefox100', 'safari15'],
  minify: true,
  legalComments: 'eof',
  logLevel: 'warning',
});
copyFileSync(join(root, 'src', 'page', 'index.html'), join(out, 'index.html'));
