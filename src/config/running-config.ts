import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * The config file the daemon runs, as OPC 40100's ConfigurationManagement shows it: its path, the
 * SHA-256 of its bytes when it was loaded (at start, or by the last reload applied) and when. The
 * file on disk may since have been edited; comparing its hash with this one tells a client whether
 * an ActivateConfiguration (a live reload) has something to apply.
 */
export interface LoadedConfig {
  /** Absolute path; undefined when the daemon runs the embedded defaults. */
  file: string | undefined;
  /** Hex SHA-256 of the file's bytes as loaded ('' for the embedded defaults). */
  hash: string;
  /** Epoch ms of the load. */
  loadedAt: number;
}

/** Hex SHA-256 of a file's bytes, or undefined when it cannot be read. */
export function configFileHash(file: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return undefined;
  }
}

export function loadedConfig(file: string | undefined, at = Date.now()): LoadedConfig {
  const path = file === undefined ? undefined : resolve(file);
  return { file: path, hash: path ? (configFileHash(path) ?? '') : '', loadedAt: at };
}
