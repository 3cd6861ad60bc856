import type { z } from 'zod';
import type { ConfigIssue } from '../errors.js';

/** `cameras[0].fps` style paths, so an error names the field as the user wrote it in YAML. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

/** The raw value at an issue's path (undefined when a key on the way is missing). */
function valueAt(input: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v = input;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** Issues by field path. Given the input, a missing required key says so (zod's union says only "Invalid input"). */
export function formatZodIssues(error: z.ZodError, input?: unknown): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    if (input !== undefined && (issue.code === 'invalid_union' || issue.code === 'invalid_type') && valueAt(input, issue.path) === undefined) {
      out.push({ path: formatPath(issue.path), message: 'required (missing)' });
      continue;
    }
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({ path: formatPath([...issue.path, key]), message: 'unknown key' });
      }
      continue;
    }
    out.push({ path: formatPath(issue.path), message: issue.message });
  }
  return out;
}
