import { readFileSync, writeFileSync } from 'node:fs';
import type { Logger } from 'pino';

/**
 * Sparkplug's birth/death sequence number: a new one for every CONNECT, 0-255 wrapping, kept in a
 * small file beside the log so a restart does not repeat the last one (a host never sees one bdSeq
 * twice in a row).
 */
export class BdSeq {
  private value: number;

  constructor(
    private readonly file: string,
    private readonly log: Logger,
  ) {
    this.value = readBdSeq(file);
  }

  get current(): number {
    return this.value;
  }

  /** The next CONNECT's bdSeq, kept on disk before it is used. */
  next(): number {
    this.value = (this.value + 1) % 256;
    try {
      writeFileSync(this.file, `${this.value}\n`);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, file: this.file }, 'cannot keep the sparkplug bdSeq; a restart may repeat it');
    }
    return this.value;
  }
}

function readBdSeq(file: string): number {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n >= 0 && n <= 255 ? n : 255;
  } catch {
    return 255; // none yet: the first CONNECT then carries bdSeq 0
  }
}
