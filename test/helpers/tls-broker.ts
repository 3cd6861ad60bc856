import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findMosquitto } from '../../src/outputs/mqtt/embedded-broker.js';
import { freePort } from '../../src/util/free-port.js';
import { waitForPort } from './mosquitto.js';

/** Certificates made for one test run with openssl: a CA, the broker's (for 127.0.0.1) and a client's. */
export interface TestPki {
  dir: string;
  ca: string;
  clientCert: string;
  clientKey: string;
}

export function makePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'inspectd-pki-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=inspectd test CA', '-keyout', 'ca.key', '-out', 'ca.crt');
  for (const [name, cn] of [['server', '127.0.0.1'], ['client', 'inspectd-client']] as const) {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
    writeFileSync(join(dir, `${name}.ext`), name === 'server' ? 'subjectAltName=IP:127.0.0.1\n' : 'extendedKeyUsage=clientAuth\n');
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.crt`);
  }
  // mosquitto started as root drops to its own user before it reads these: let it (test keys only).
  chmodSync(dir, 0o755);
  for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o644);
  return { dir, ca: join(dir, 'ca.crt'), clientCert: join(dir, 'client.crt'), clientKey: join(dir, 'client.key') };
}

/** Debian's mosquitto with a TLS listener that wants a client certificate and a password. */
export class TlsBroker {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
  ) {}

  static async start(pki: TestPki, users: Record<string, string>): Promise<TlsBroker> {
    const port = await freePort();
    const pw = join(pki.dir, 'passwd');
    writeFileSync(pw, '');
    for (const [u, p] of Object.entries(users)) execFileSync('mosquitto_passwd', ['-b', pw, u, p], { stdio: 'pipe' });
    chmodSync(pw, 0o644);
    const conf = join(pki.dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      [
        `listener ${port} 127.0.0.1`,
        `cafile ${pki.ca}`,
        `certfile ${join(pki.dir, 'server.crt')}`,
        `keyfile ${join(pki.dir, 'server.key')}`,
        'require_certificate true',
        `password_file ${pw}`,
        'allow_anonymous false',
        'persistence false',
        'log_dest none',
        '',
      ].join('\n'),
    );
    const child = spawn(findMosquitto(), ['-c', conf], { stdio: 'ignore' });
    await waitForPort(port, 5000);
    return new TlsBroker(port, child);
  }

  get url(): string {
    return `mqtts://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    await new Promise<void>((res) => {
      this.child.once('exit', () => res());
      this.child.kill('SIGKILL');
    });
  }
}
