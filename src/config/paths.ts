import { isAbsolute, resolve } from 'node:path';

/**
 * One rule for relative paths written in a config file: they resolve against that file's folder, so
 * a config means the same wherever the daemon is started from (systemd's working directory is `/`).
 * Paths given as flags (`--db`) resolve against the working directory, as every shell tool's do.
 * Built-in defaults: the model against the package, the database against the working directory.
 * Applied to the raw YAML before validation, so defaults stay relative and are told apart.
 */
export function resolveConfigPaths(raw: Record<string, unknown>, dir: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw };
  const withPath = (v: unknown): unknown => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
    const o = v as Record<string, unknown>;
    return typeof o.path === 'string' && o.path.length > 0 && !isAbsolute(o.path) ? { ...o, path: resolve(dir, o.path) } : o;
  };
  if ('model' in out) out.model = withPath(out.model);
  if ('storage' in out) out.storage = withPath(out.storage);
  if ('archive' in out) out.archive = withPath(out.archive);
  const file = (v: unknown) => (typeof v === 'string' && v.length > 0 && !isAbsolute(v) ? resolve(dir, v) : v);
  if (out.mqtt && typeof out.mqtt === 'object' && !Array.isArray(out.mqtt)) {
    const mqtt = { ...(out.mqtt as Record<string, unknown>) };
    if ('passwordFile' in mqtt) mqtt.passwordFile = file(mqtt.passwordFile);
    const tls = mqtt.tls;
    if (tls && typeof tls === 'object' && !Array.isArray(tls)) {
      const t = { ...(tls as Record<string, unknown>) };
      for (const k of ['ca', 'cert', 'key']) if (k in t) t[k] = file(t[k]);
      mqtt.tls = t;
    }
    out.mqtt = mqtt;
  }
  if (out.opcua && typeof out.opcua === 'object' && !Array.isArray(out.opcua)) {
    const o = { ...(out.opcua as Record<string, unknown>) };
    for (const k of ['usersFile', 'pkiDir']) if (k in o) o[k] = file(o[k]);
    out.opcua = o;
  }
  if (out.http && typeof out.http === 'object' && !Array.isArray(out.http)) {
    const http = { ...(out.http as Record<string, unknown>) };
    if ('tokenFile' in http) http.tokenFile = file(http.tokenFile);
    out.http = http;
  }
  if (Array.isArray(out.cameras)) {
    out.cameras = out.cameras.map((c: unknown) => {
      if (!c || typeof c !== 'object' || Array.isArray(c)) return c;
      const cam = { ...(c as Record<string, unknown>) };
      if ('model' in cam) cam.model = withPath(cam.model);
      if ('template' in cam) cam.template = withPath(cam.template);
      const src = cam.source as Record<string, unknown> | undefined;
      // Only the folder replay's path is a path; an opencv `device` may be a pipeline or an index.
      if (src && typeof src === 'object' && src.type === 'folder') cam.source = withPath(src);
      return cam;
    });
  }
  return out;
}
