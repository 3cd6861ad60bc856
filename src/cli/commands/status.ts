import { EXIT_FAILURE, EXIT_OK } from '../exit-codes.js';

/** sysexits(3) EX_UNAVAILABLE: nothing answered at that address (the daemon is not running, or elsewhere). */
const EXIT_UNAVAILABLE = 69;

/**
 * `inspectd status`: what /readyz of a running daemon says, from the command line. Exit 0 ready,
 * 1 running but not ready (each failing check printed), 69 no daemon answering.
 */
export async function statusCommand(opts: { http: { host: string; port: number }; json?: boolean }, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const host = opts.http.host.includes(':') ? `[${opts.http.host}]` : opts.http.host;
  const url = `http://${host}:${opts.http.port}/readyz`;
  let body: { ready: boolean; summary?: string; checks: Record<string, { ok: boolean } & Record<string, unknown>> };
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    body = (await res.json()) as typeof body;
  } catch (e) {
    err.write(`inspectd status: no daemon answered at ${url} (${(e as Error).message}); is it running, and is http.host/port (or run --http) this address?\n`);
    return EXIT_UNAVAILABLE;
  }
  if (opts.json) {
    out.write(`${JSON.stringify(body)}\n`);
  } else {
    out.write(`${body.ready ? 'ready' : 'NOT READY'}: ${body.summary ?? ''}\n`);
    for (const [name, check] of Object.entries(body.checks)) {
      const { ok, ...detail } = check;
      out.write(`  ${ok ? 'ok  ' : 'FAIL'} ${name} ${JSON.stringify(detail)}\n`);
    }
  }
  return body.ready ? EXIT_OK : EXIT_FAILURE;
}
