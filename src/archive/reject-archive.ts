import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { mkdir, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import type { Logger } from 'pino';
import { opencv, type Mat } from '../preprocess/opencv.js';
import type { DefectMap, VerdictKind, VerdictMessage } from '../verdict/types.js';

export interface ArchiveOptions {
  /** Folder of the archive: one sub-folder per UTC day. */
  dir: string;
  maxBytes: number;
  verdicts: readonly VerdictKind[];
  /** Share of PASS frames kept as well (0..1), e.g. to see what the model calls good. */
  passSampleRate: number;
  format: 'jpg' | 'png';
  jpegQuality: number;
}

/**
 * Where a verdict's image is (or would be) kept: a function of the verdict alone, so the log needs
 * no column for it and `inspectd verdicts` finds it from the row.
 */
export function archivedImagePath(dir: string, v: Pick<VerdictMessage, 'station' | 'seq' | 'camera' | 'verdict' | 'decidedAt'>, format: 'jpg' | 'png'): string {
  const day = new Date(v.decidedAt).toISOString().slice(0, 10);
  return join(dir, day, `${v.station}-${v.seq}-${v.camera}-${v.verdict}.${format}`);
}

/**
 * Where a FAIL's defect map (anomaly-map models) is kept beside its image: an 8-bit grey PNG, one
 * pixel per map cell, covering the frame (DefectMap). The data, not a picture: the page colours it.
 */
export function archivedMapPath(dir: string, v: Pick<VerdictMessage, 'station' | 'seq' | 'camera' | 'verdict' | 'decidedAt'>): string {
  return archivedImagePath(dir, v, 'png').replace(/\.png$/, '.map.png');
}

/** A defect map as an 8-bit grey image (what the archive writes, and what the page's heat map is drawn from). */
export function defectMapMat(map: DefectMap): Mat {
  const cv = opencv();
  return new cv.Mat(Buffer.from(map.cells.buffer, map.cells.byteOffset, map.cells.byteLength), map.height, map.width, cv.CV_8UC1);
}

/**
 * Rejects (FAIL, TIMEOUT, ERROR) and a sample of passes saved as images for review and retraining,
 * under a byte quota, oldest out first. Encoding runs on libuv's pool (OpenCV's async encode) and
 * writing through fs promises, so the main thread only hands the frame over. The archive owns the
 * Mat it is given and releases it.
 */
export class RejectArchive {
  private readonly files: Array<{ path: string; bytes: number }> = [];
  private bytes = 0;
  private writing = 0;
  saved = 0;
  dropped = 0;

  constructor(
    private readonly opts: ArchiveOptions,
    private readonly log: Logger,
  ) {
    mkdirSync(opts.dir, { recursive: true });
    // What is already there counts against the quota, oldest first (day folders sort by name).
    for (const day of readdirSync(opts.dir).sort()) {
      const dayDir = join(opts.dir, day);
      let names: string[];
      try {
        names = readdirSync(dayDir);
      } catch {
        continue;
      }
      const entries = names.map((n) => ({ path: join(dayDir, n), st: statSync(join(dayDir, n)) })).sort((a, b) => a.st.mtimeMs - b.st.mtimeMs);
      for (const e of entries) {
        this.files.push({ path: e.path, bytes: e.st.size });
        this.bytes += e.st.size;
      }
    }
  }

  /** Whether this verdict's frame is kept (PASS by sampling). */
  /** Bytes of images kept now (for the archive size metric). */
  get sizeBytes(): number {
    return this.bytes;
  }

  wants(msg: VerdictMessage): boolean {
    if (msg.verdict === 'PASS') return this.opts.passSampleRate > 0 && Math.random() < this.opts.passSampleRate;
    return this.opts.verdicts.includes(msg.verdict);
  }

  /** Takes the frame's image (and releases it); never throws, never waits. */
  offer(image: Mat, msg: VerdictMessage, map?: DefectMap): void {
    if (!this.wants(msg)) image.release();
    else this.keep(image, msg, map);
  }

  /** As offer(), for a frame the caller has already asked wants() about (PASS is sampled once, not twice). */
  keep(image: Mat, msg: VerdictMessage, map?: DefectMap): void {
    if (image.empty) {
      image.release();
      return;
    }
    // A disk slower than the line must not pile frames up in memory: past a few in flight, drop.
    if (this.writing >= 8) {
      this.dropped++;
      image.release();
      return;
    }
    this.writing++;
    void this.save(image, msg, map).finally(() => this.writing--);
  }

  private async save(image: Mat, msg: VerdictMessage, map: DefectMap | undefined): Promise<void> {
    const cv = opencv();
    const path = archivedImagePath(this.opts.dir, msg, this.opts.format);
    try {
      const params = this.opts.format === 'jpg' ? [cv.IMWRITE_JPEG_QUALITY, this.opts.jpegQuality] : [];
      const encoded = await cv.imencodeAsync(`.${this.opts.format}`, image, params);
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(path, encoded);
      this.files.push({ path, bytes: encoded.length });
      this.bytes += encoded.length;
      if (map) {
        // Written after the image: a map on disk always has its image (the quota may still take the image first).
        const mapPath = archivedMapPath(this.opts.dir, msg);
        const grey = defectMapMat(map);
        const png = await cv.imencodeAsync('.png', grey).finally(() => grey.release());
        await writeFile(mapPath, png);
        this.files.push({ path: mapPath, bytes: png.length });
        this.bytes += png.length;
      }
      this.saved++;
      await this.enforceQuota();
    } catch (err) {
      this.dropped++;
      this.log.warn({ event: 'archive.write_failed', err: (err as Error).message, seq: msg.seq }, 'reject image not saved');
    } finally {
      image.release();
    }
  }

  private async enforceQuota(): Promise<void> {
    while (this.bytes > this.opts.maxBytes && this.files.length > 0) {
      const oldest = this.files.shift()!;
      this.bytes -= oldest.bytes;
      await unlink(oldest.path).catch(() => {});
    }
  }

  /** Resolves once the images handed over so far are written (clean stop). */
  async flush(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.writing > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  }
}

/** Where the archive keeps its images: beside the verdict log unless config puts it elsewhere. */
export function archiveDir(cfg: Config): string {
  return resolve(cfg.archive.path ?? join(dirname(resolve(cfg.storage.path)), 'rejects'));
}

/** The archive config asks for; undefined when off. */
export function openRejectArchive(cfg: Config, log: Logger): RejectArchive | undefined {
  const a = cfg.archive;
  if (!a.enabled) return undefined;
  const dir = archiveDir(cfg);
  return new RejectArchive({ dir, maxBytes: a.maxMb * 2 ** 20, verdicts: a.verdicts, passSampleRate: a.passSampleRate, format: a.format, jpegQuality: a.jpegQuality }, log);
}
