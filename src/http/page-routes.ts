import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { heatMapPng, readArchivedMap } from '../outputs/operator-page/heat-map.js';
import type { OperatorPage } from '../outputs/operator-page/operator-page.js';
import type { ReviewFilter } from '../outputs/operator-page/review-desk.js';
import { REVIEW_MARKS } from '../record/store.js';
import { VERDICTS, type VerdictKind } from '../verdict/types.js';
import type { CommandAuth } from './auth.js';

/** The page's built files (scripts/build-page.mjs writes them; nothing is fetched from elsewhere). */
const ASSETS: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'page.js': 'text/javascript; charset=utf-8',
  'page.css': 'text/css; charset=utf-8',
};

/**
 * A page whose connection is this far behind (a tablet on a bad Wi-Fi) skips updates until it catches
 * up: the daemon never queues more than this per page.
 */
const MAX_BUFFERED_BYTES = 512 * 1024;

const time = z.union([z.coerce.number().int().nonnegative(), z.string().datetime({ offset: true }).transform((s) => Date.parse(s))]);
const filterQuery = z
  .object({
    camera: z.string().min(1).optional(),
    verdict: z
      .string()
      .optional()
      .transform((s) => (s ? s.split(',').filter(Boolean) : []))
      .pipe(z.array(z.enum(VERDICTS))),
    since: time.optional(),
    until: time.optional(),
    limit: z.coerce.number().int().positive().optional(),
  })
  .strict();
const seqParam = z.object({ seq: z.coerce.number().int().positive() });
const markBody = z.object({ mark: z.enum(REVIEW_MARKS) }).strict();

/**
 * The operator page on the daemon's HTTP server: its assets, the live feed (Server-Sent Events), the
 * shown frames, and the review of rejects. Everything here only reads, except marking a reject,
 * which goes through the bearer check. Before the daemon has started (model loading) the API
 * answers 503, and the page says it is waiting.
 */
export function registerPageRoutes(app: FastifyInstance, page: () => OperatorPage | undefined, auth: CommandAuth, assetsDir: string): void {
  const assets = new Map<string, Buffer>();
  for (const name of Object.keys(ASSETS)) {
    const path = join(assetsDir, name);
    if (existsSync(path)) assets.set(name, readFileSync(path));
  }
  const sendAsset = (reply: FastifyReply, name: string) => {
    const body = assets.get(name);
    if (!body) return reply.code(503).type('text/plain').send(`the operator page is not built (${join(assetsDir, name)} missing): run scripts/setup.sh`);
    return reply.type(ASSETS[name]!).header('cache-control', 'no-cache').send(body);
  };
  const needPage = (reply: FastifyReply): OperatorPage | undefined => {
    const p = page();
    if (!p) void reply.code(503).send({ error: 'the daemon is starting (or the page is off)' });
    return p;
  };
  const bad = (reply: FastifyReply, err: z.ZodError) => reply.code(400).send({ error: err.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; ') });

  app.get('/', async (_req, reply) => sendAsset(reply, 'index.html'));
  app.get<{ Params: { file: string } }>('/page/:file', async (req, reply) => (req.params.file in ASSETS ? sendAsset(reply, req.params.file) : reply.code(404).send({ error: 'not found' })));

  app.get('/api/session', async () => ({ tokenConfigured: auth.configured }));
  app.get('/api/session/check', { preHandler: auth.preHandler }, async (_req, reply) => reply.code(204).send());

  const streams = new Set<import('node:http').ServerResponse>();
  app.get('/api/live', (req, reply) => {
    const p = needPage(reply);
    if (!p) return;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write('retry: 2000\n\n');
    streams.add(res);
    const unwatch = p.feed.watch({
      send: (event, data) => {
        if (res.writableLength > MAX_BUFFERED_BYTES || res.destroyed) return false;
        res.write(`event: ${event}\ndata: ${data}\n\n`);
        return true;
      },
      close: () => res.end(),
    });
    res.on('close', () => {
      streams.delete(res);
      unwatch();
    });
    req.raw.on('error', () => res.destroy());
  });
  // Streams never end by themselves; the server's close must not wait for them.
  app.addHook('preClose', async () => {
    for (const res of streams) res.end();
  });

  // ?seq= names the frame (the update's frameUrl): once the next one is shown it is gone (410), so a
  // URL always means the same bytes, and a page that falls behind keeps its picture until the next update.
  app.get<{ Params: { camera: string }; Querystring: { seq?: string } }>('/api/live/frame/:camera', async (req, reply) => {
    const p = needPage(reply);
    if (!p) return reply;
    const shown = p.feed.frames.jpeg(req.params.camera);
    if (!shown) return reply.code(404).send({ error: `no frame shown for camera ${req.params.camera}` });
    if (req.query.seq !== undefined && Number(req.query.seq) !== shown.seq) return reply.code(410).send({ error: `frame ${req.query.seq} is no longer shown (now ${shown.seq})` });
    try {
      const jpeg = await shown.jpeg;
      return reply.type('image/jpeg').header('cache-control', 'private, max-age=60').header('x-inspectd-seq', String(shown.seq)).send(jpeg);
    } catch (err) {
      return reply.code(500).send({ error: `frame could not be encoded: ${(err as Error).message}` });
    }
  });

  // The shown frame's defect map, under the same ?seq= rule as its frame.
  app.get<{ Params: { camera: string }; Querystring: { seq?: string } }>('/api/live/map/:camera', async (req, reply) => {
    const p = needPage(reply);
    if (!p) return reply;
    const shown = p.feed.frames.heatMap(req.params.camera);
    if (!shown) return reply.code(404).send({ error: `no defect map shown for camera ${req.params.camera}` });
    if (req.query.seq !== undefined && Number(req.query.seq) !== shown.seq) return reply.code(410).send({ error: `frame ${req.query.seq} is no longer shown (now ${shown.seq})` });
    try {
      const png = await shown.png;
      return reply.type('image/png').header('cache-control', 'private, max-age=60').header('x-inspectd-seq', String(shown.seq)).send(png);
    } catch (err) {
      return reply.code(500).send({ error: `defect map could not be drawn: ${(err as Error).message}` });
    }
  });

  app.get('/api/review', async (req, reply) => {
    const p = needPage(reply);
    if (!p) return reply;
    const q = filterQuery.safeParse(req.query);
    if (!q.success) return bad(reply, q.error);
    return { rejects: p.review.rejects(toFilter(q.data)) };
  });
  app.get('/api/review.csv', async (req, reply) => {
    const p = needPage(reply);
    if (!p) return reply;
    const q = filterQuery.safeParse(req.query);
    if (!q.success) return bad(reply, q.error);
    const f = toFilter(q.data);
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="rejects-${new Date().toISOString().replace(/[:.]/g, '-')}.csv"`)
      .send(p.review.csv({ ...f, limit: undefined }));
  });
  app.get('/api/review/:seq', async (req, reply) => {
    const p = needPage(reply);
    if (!p) return reply;
    const s = seqParam.safeParse(req.params);
    if (!s.success) return bad(reply, s.error);
    return p.review.verdict(s.data.seq) ?? reply.code(404).send({ error: `no verdict ${s.data.seq}` });
  });
  app.get('/api/review/:seq/image', async (req, reply) => {
    const p = needPage(reply);
    if (!p) return reply;
    const s = seqParam.safeParse(req.params);
    if (!s.success) return bad(reply, s.error);
    const path = p.review.imagePath(s.data.seq);
    if (!path) return reply.code(404).send({ error: `no archived image for verdict ${s.data.seq} (archive off, not a kept verdict, or removed by its quota)` });
    // Archived images never change: a browser may keep them.
    return reply.type(path.endsWith('.png') ? 'image/png' : 'image/jpeg').header('cache-control', 'private, max-age=86400').send(createReadStream(path));
  });
  app.get('/api/review/:seq/map', async (req, reply) => {
    const p = needPage(reply);
    if (!p) return reply;
    const s = seqParam.safeParse(req.params);
    if (!s.success) return bad(reply, s.error);
    const path = p.review.mapPath(s.data.seq);
    if (!path) return reply.code(404).send({ error: `no archived defect map for verdict ${s.data.seq} (not a FAIL of an anomaly-map model, archive off, or removed by its quota)` });
    try {
      return reply.type('image/png').header('cache-control', 'private, max-age=86400').send(await heatMapPng(await readArchivedMap(path)));
    } catch (err) {
      return reply.code(500).send({ error: `defect map could not be drawn: ${(err as Error).message}` });
    }
  });
  app.post('/api/review/:seq/mark', { preHandler: auth.preHandler }, async (req, reply) => {
    const p = needPage(reply);
    if (!p) return reply;
    const s = seqParam.safeParse(req.params);
    if (!s.success) return bad(reply, s.error);
    const b = markBody.safeParse(req.body);
    if (!b.success) return bad(reply, b.error);
    const out = await p.review.mark(s.data.seq, b.data.mark);
    return out.ok ? out.verdict : reply.code(out.status).send({ error: out.error });
  });
}

function toFilter(q: z.infer<typeof filterQuery>): ReviewFilter {
  return { camera: q.camera, verdicts: q.verdict as VerdictKind[], since: q.since, until: q.until, limit: q.limit };
}
