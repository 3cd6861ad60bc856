import { join } from 'node:path';
import { DaemonProcess, waitFor } from '../ops/helpers.js';
import { PlcSession } from './opcua.js';

/** `inspectd run -c FILE` with OPC UA on, and a PLC's session on it once the server listens. */
export interface OpcuaStation {
  daemon: DaemonProcess;
  plc: PlcSession;
}

export async function startOpcuaStation(configFile: string, o: { dir: string; brokerUrl: string; port: number; home: string }): Promise<OpcuaStation> {
  const daemon = DaemonProcess.start(configFile, ['--broker', o.brokerUrl, '--http', '127.0.0.1:0'], { HOME: o.home });
  try {
    await waitFor('ready', () => daemon.event('ready'), 90_000);
    // node-opcua loads its nodesets on its own thread: 5-15 s, longer on a loaded 2-vCPU box.
    await waitFor('the OPC UA server listening', () => daemon.event('opcua.listening'), 100_000);
    return { daemon, plc: await PlcSession.open({ endpointUrl: `opc.tcp://127.0.0.1:${o.port}`, pkiDir: join(o.dir, 'plc-pki') }) };
  } catch (err) {
    daemon.kill();
    throw err;
  }
}

/** The session closed, the daemon killed (afterAll, even when the start failed half-way). */
export async function stopOpcuaStation(s: Partial<OpcuaStation>): Promise<void> {
  await s.plc?.close().catch(() => {});
  s.daemon?.kill();
}
