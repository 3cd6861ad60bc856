import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MessageSecurityMode, OPCUAClient, UserTokenType } from 'node-opcua';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { openOpcuaServer } from '../../src/outputs/opcua/open.js';
import type { OpcuaOutput } from '../../src/outputs/opcua/output.js';
import { hashUserLine } from '../../src/outputs/opcua/users.js';
import type { VerdictMessage } from '../../src/verdict/types.js';
import { sleep, tempDir, until, writeConfig } from '../helpers/daemon.js';
import { cliPath } from '../helpers/model.js';
import { clientCertificateManager, freePort, PlcSession } from '../helpers/opcua.js';

/**
 * The server's security as a plant's IT would check it, with node-opcua's own client on loopback:
 * Basic256Sha256 Sign and SignAndEncrypt only (no None endpoint), users from a file (one scrypt
 * hash, one plain), anonymous refused, and a client certificate that gets in only once it is moved
 * from rejected/ to trusted/ in the PKI folder beside the verdict log. The server runs in this
 * process (the OPC UA output alone); the config rules run through the CLI.
 */
const dir = tempDir('opcua-sec');
const pkiDir = join(dir, 'opcua-pki');
const clientPki = join(dir, 'plc-pki');
let output: OpcuaOutput;
let url: string;

beforeAll(async () => {
  const usersFile = join(dir, 'opcua-users');
  writeFileSync(usersFile, ['# line 3 PLC and the commissioning laptop', await hashUserLine('plc', 'line3-secret'), 'eng:plain$engineer-pw', ''].join('\n'));
  const port = await freePort();
  const config = parseConfig(
    { station: 'sec', storage: { path: join(dir, 'v.db') }, opcua: { enabled: true, port, securityModes: ['Sign', 'SignAndEncrypt'], usersFile, policy: 'idle' } },
    'test',
  );
  output = openOpcuaServer(
    { config, inspections: { cameras: new Map([['cam1', { modelInfo: { name: 'synthetic-line', version: '1', precision: 'fp32', backend: 'onnxruntime' } }]]) }, desk: () => undefined, log: pino({ level: 'silent' }) },
    'test',
    'ok',
  );
  // Before the server listens (its nodesets take seconds to load): kept in order and shown once it does.
  output.setCameraState('cam1', 'up');
  output.decided(earlyVerdict);
  await output.listening;
  output.start();
  url = `opc.tcp://127.0.0.1:${port}`;
}, 120_000);

afterAll(async () => {
  await output?.stop();
});

const earlyVerdict: VerdictMessage = {
  schema: 1,
  seq: 7,
  station: 'sec',
  camera: 'cam1',
  frameId: 3,
  partId: 'E-7',
  verdict: 'FAIL',
  score: 0.9,
  defects: [{ label: 'scratch', score: 0.9 }],
  capturedAt: Date.now() - 12,
  decidedAt: Date.now(),
  latencyMs: 12,
  deadlineMs: 30,
  model: { name: 'synthetic-line', version: '1', precision: 'fp32', backend: 'onnxruntime' },
};

const expectRefused = async (p: Promise<unknown>, pattern: RegExp) => {
  const err = await p.then(
    () => undefined,
    (e: Error) => e,
  );
  expect(err, 'expected the session to be refused').toBeInstanceOf(Error);
  expect(err!.message).toMatch(pattern);
};

describe('OPC UA security', () => {
  it('offers Basic256Sha256 Sign and SignAndEncrypt, and no None endpoint for sessions', async () => {
    const client = OPCUAClient.create({ endpointMustExist: false, connectionStrategy: { maxRetry: 0 }, clientCertificateManager: clientCertificateManager(clientPki) });
    await client.connect(url);
    const endpoints = await client.getEndpoints();
    await client.disconnect();
    const offered = endpoints.map((e) => `${MessageSecurityMode[e.securityMode]} ${e.securityPolicyUri?.split('#')[1]}`);
    expect(offered.sort()).toEqual(['Sign Basic256Sha256', 'SignAndEncrypt Basic256Sha256']);
    // Users configured: no anonymous token. (node-opcua 2.182 always lists X.509 user tokens; their
    // trust list, user-tokens/trusted, is empty, so every one is refused: docs/opcua.md.)
    const tokens = new Set(endpoints.flatMap((e) => (e.userIdentityTokens ?? []).map((t) => UserTokenType[t.tokenType])));
    expect([...tokens].sort()).toEqual(['Certificate', 'UserName']);
  }, 60_000);

  it('refuses a client whose certificate is not trusted, keeping it in rejected/', async () => {
    await expectRefused(PlcSession.open({ endpointUrl: url, pkiDir: clientPki, mode: 'SignAndEncrypt', user: { name: 'plc', password: 'line3-secret' } }), /./);
    await until('the certificate in rejected/', () => existsSync(join(pkiDir, 'server', 'rejected')) && readdirSync(join(pkiDir, 'server', 'rejected')).some((f) => f.endsWith('.pem') || f.endsWith('.der')), 10_000);
  }, 60_000);

  it('lets it in once it is moved to trusted/, with SignAndEncrypt and the right password', async () => {
    // The operator's step (docs/opcua.md): move the refused certificate into the trust list; the server watches the folder.
    const rejected = join(pkiDir, 'server', 'rejected');
    for (const f of readdirSync(rejected)) renameSync(join(rejected, f), join(pkiDir, 'server', 'trusted', 'certs', f));
    await sleep(1500);
    const s = await PlcSession.open({ endpointUrl: url, pkiDir: clientPki, mode: 'SignAndEncrypt', user: { name: 'plc', password: 'line3-secret' } });
    try {
      expect(s.client.securityMode).toBe(MessageSecurityMode.SignAndEncrypt);
      expect(await s.read('sec.SystemState')).toBe('Operational');
      expect(await s.read('sec.Cameras.cam1.Model.Name')).toBe('synthetic-line');
      // What the daemon posted while the server was still loading.
      expect(await s.readMany(['sec.Cameras.cam1.LastResult.Seq', 'sec.Cameras.cam1.LastResult.PartId', 'sec.Cameras.cam1.CameraState', 'sec.Cameras.cam1.ResultCounts.Fail', 'sec.ResultCounts.Total'])).toEqual([7, 'E-7', 'up', 1, 1]);
    } finally {
      await s.close();
    }
    // Sign only, and the plain-text user of the file.
    const signed = await PlcSession.open({ endpointUrl: url, pkiDir: clientPki, mode: 'Sign', user: { name: 'eng', password: 'engineer-pw' } });
    expect(signed.client.securityMode).toBe(MessageSecurityMode.Sign);
    expect(await signed.read('sec.StorageState')).toBe('ok');
    await signed.close();
  }, 60_000);

  it('refuses a wrong password, an unknown user and an anonymous session', async () => {
    const open = (user?: { name: string; password: string }) => PlcSession.open({ endpointUrl: url, pkiDir: clientPki, mode: 'SignAndEncrypt', user });
    await expectRefused(open({ name: 'plc', password: 'wrong' }), /BadUserAccessDenied|BadIdentityTokenRejected|BadIdentityTokenInvalid/);
    await expectRefused(open({ name: 'nobody', password: 'line3-secret' }), /BadUserAccessDenied|BadIdentityTokenRejected|BadIdentityTokenInvalid/);
    // node-opcua's client does not even send it: no endpoint offers an anonymous token (checked above).
    await expectRefused(open(undefined), /ANONYMOUS user token policy|BadIdentityTokenInvalid|BadIdentityTokenRejected/);
  }, 60_000);

  it('keeps its certificate in the PKI folder given, never in HOME', () => {
    expect(existsSync(join(pkiDir, 'server', 'own', 'certs', 'certificate.pem'))).toBe(true);
    expect(existsSync(join(pkiDir, 'server', 'own', 'private', 'private_key.pem'))).toBe(true);
    expect(existsSync(join(pkiDir, 'user-tokens'))).toBe(true);
  });
});

describe("the server's thread yields to the line (opcua.policy: idle)", () => {
  it('runs the server on the one thread of this process under SCHED_IDLE, and the listening answer says so', async () => {
    expect((await output.listening).priority).toBe('SCHED_IDLE');
    // From the kernel, not from the thread's own answer: policy is /proc/.../stat field 41 (5 = SCHED_IDLE).
    const policy = (tid: string) => {
      try {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]);
      } catch {
        return -1; // ended between the listing and the read
      }
    };
    const idle = readdirSync('/proc/self/task').filter((tid) => policy(tid) === 5);
    expect(idle).toHaveLength(1);
    expect(idle[0]).not.toBe(String(process.pid));
  });
});

describe('OPC UA config rules (exit 78 naming the field)', () => {
  const check = (lines: string[]) => {
    const d = tempDir('opcua-cfg');
    const file = writeConfig(d, lines);
    return spawnSync(process.execPath, [cliPath, 'check-config', file, '--no-model'], { encoding: 'utf8' });
  };

  it('refuses SecurityPolicy None on a non-loopback host unless allowed', () => {
    const refused = check(['opcua:', '  enabled: true', '  host: 0.0.0.0']);
    expect(refused.status).toBe(78);
    expect(refused.stderr).toContain('opcua.securityModes');
    expect(check(['opcua:', '  enabled: true', '  host: 0.0.0.0', '  allowInsecureNone: true']).status).toBe(0);
    expect(check(['opcua:', '  enabled: true', '  host: 0.0.0.0', '  securityModes: [SignAndEncrypt]']).status).toBe(0);
    expect(check(['opcua:', '  enabled: true', '  host: 127.0.0.1']).status).toBe(0);
  });

  it('refuses a scheduling policy other than idle or nice', () => {
    const bad = check(['opcua:', '  enabled: true', '  policy: low']);
    expect(bad.status).toBe(78);
    expect(bad.stderr).toContain('opcua.policy');
    expect(check(['opcua:', '  enabled: true', '  policy: nice', '  nice: 10']).status).toBe(0);
  });

  it('refuses an unreadable or malformed users file, anonymous beside users, and an opcua trigger without the server', () => {
    const missing = check(['opcua:', '  enabled: true', '  usersFile: no-such-file']);
    expect(missing.status).toBe(78);
    expect(missing.stderr).toContain('opcua.usersFile');
    const d = tempDir('opcua-users');
    writeFileSync(join(d, 'users'), 'plc:password-without-scheme\n');
    const bad = check(['opcua:', '  enabled: true', `  usersFile: ${join(d, 'users')}`]);
    expect(bad.status).toBe(78);
    expect(bad.stderr).toMatch(/opcua\.usersFile.*line 1/);
    const both = check(['opcua:', '  enabled: true', '  allowAnonymous: true', `  usersFile: ${join(d, 'users')}`]);
    expect(both.stderr).toContain('opcua.allowAnonymous');
    const trig = check(['cameras:', '  - name: c1', '    trigger: opcua', '    source: { type: synthetic }']);
    expect(trig.status).toBe(78);
    expect(trig.stderr).toContain('cameras[0].trigger');
  });
});
