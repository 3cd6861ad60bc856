import { join } from 'node:path';
import { AttributeIds, ClientMonitoredItem, ClientSubscription, OPCUACertificateManager, OPCUAClient, TimestampsToReturn, type ClientSession } from 'node-opcua';

/**
 * The bench's OPC UA client, as a SCADA would subscribe: every camera's LastResult.Seq and
 * LastResult.ResultJson, exception-based (samplingInterval 0) with a queue deep enough to keep
 * every change. It counts what it gets so the bench can say whether any verdict was missed, and how
 * late each reached it.
 */
export class BenchOpcuaSubscriber {
  readonly seqs = new Map<string, number[]>();
  jsonNotifications = 0;
  /** Per Seq notification counted: its receipt here minus the verdict's decidedAt (the value's source timestamp), ms. */
  readonly lateMs: number[] = [];
  counting = false;
  private constructor(
    private readonly client: OPCUAClient,
    private readonly session: ClientSession,
  ) {}

  static async open(url: string, pkiDir: string, station: string, cameras: readonly string[]): Promise<BenchOpcuaSubscriber> {
    const client = OPCUAClient.create({
      endpointMustExist: false,
      connectionStrategy: { maxRetry: 0 },
      clientCertificateManager: new OPCUACertificateManager({ rootFolder: join(pkiDir, 'bench-client'), automaticallyAcceptUnknownCertificate: true }),
    });
    await client.connect(url);
    const session = await client.createSession();
    const s = new BenchOpcuaSubscriber(client, session);
    const sub = ClientSubscription.create(session, { requestedPublishingInterval: 50, requestedLifetimeCount: 600, requestedMaxKeepAliveCount: 20, maxNotificationsPerPublish: 0, publishingEnabled: true, priority: 10 });
    for (const cam of cameras) {
      s.seqs.set(cam, []);
      const base = `ns=1;s=${station}.Cameras.${cam}.LastResult`;
      const params = { samplingInterval: 0, discardOldest: false, queueSize: 10_000 };
      const seq = ClientMonitoredItem.create(sub, { nodeId: `${base}.Seq`, attributeId: AttributeIds.Value }, params, TimestampsToReturn.Both);
      seq.on('changed', (dv) => {
        if (!s.counting) return;
        s.seqs.get(cam)!.push(dv.value.value as number);
        // The same clock as the daemon's (one box): how late the result reaches a client, publishing interval included.
        if (dv.sourceTimestamp) s.lateMs.push(Date.now() - dv.sourceTimestamp.getTime());
      });
      const json = ClientMonitoredItem.create(sub, { nodeId: `${base}.ResultJson`, attributeId: AttributeIds.Value }, params, TimestampsToReturn.Both);
      json.on('changed', () => {
        if (s.counting) s.jsonNotifications++;
      });
    }
    return s;
  }

  async close(): Promise<void> {
    await this.session.close().catch(() => {});
    await this.client.disconnect();
  }
}
