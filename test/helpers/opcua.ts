import { join } from 'node:path';
import {
  AttributeIds,
  ClientMonitoredItem,
  ClientSubscription,
  DataType,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAClient,
  SecurityPolicy,
  TimestampsToReturn,
  UserTokenType,
  constructEventFilter,
  coerceNodeId,
  type Variant,
  type ClientSession,
  type DataValue,
  type UserIdentityInfo,
} from 'node-opcua';

/**
 * A PLC's side of OPC UA, with node-opcua's own client: a session (None, Sign or SignAndEncrypt,
 * anonymous or user/password), reads, method calls and a subscription. Its certificate store is a
 * folder the test gives (never $HOME); the first connect there creates the client certificate.
 */
export interface PlcSessionOptions {
  endpointUrl: string;
  /** Client PKI folder (own/, trusted/...): cache one per test run, a certificate takes seconds to make. */
  pkiDir: string;
  mode?: 'None' | 'Sign' | 'SignAndEncrypt';
  user?: { name: string; password: string };
}

export const CLIENT_APPLICATION_URI = 'urn:inspectd-test:plc';

export function clientCertificateManager(pkiDir: string): OPCUACertificateManager {
  return new OPCUACertificateManager({ rootFolder: pkiDir, automaticallyAcceptUnknownCertificate: true, name: 'plc' });
}

/** The client's certificate file in its PKI folder (made on the first connect with security). */
export function clientCertificateFile(pkiDir: string): string {
  return join(pkiDir, 'own', 'certs', 'client_certificate.pem');
}

export class PlcSession {
  private constructor(
    readonly client: OPCUAClient,
    readonly session: ClientSession,
    readonly ns: number,
  ) {}

  static async open(o: PlcSessionOptions): Promise<PlcSession> {
    const mode = o.mode ?? 'None';
    const client = OPCUAClient.create({
      applicationName: 'inspectd-test-plc',
      applicationUri: CLIENT_APPLICATION_URI,
      securityMode: MessageSecurityMode[mode],
      securityPolicy: mode === 'None' ? SecurityPolicy.None : SecurityPolicy.Basic256Sha256,
      endpointMustExist: false,
      connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
      clientCertificateManager: clientCertificateManager(o.pkiDir),
      certificateFile: clientCertificateFile(o.pkiDir),
      privateKeyFile: join(o.pkiDir, 'own', 'private', 'private_key.pem'),
      requestedSessionTimeout: 20_000,
    });
    await client.connect(o.endpointUrl);
    const identity: UserIdentityInfo = o.user ? { type: UserTokenType.UserName, userName: o.user.name, password: o.user.password } : { type: UserTokenType.Anonymous };
    let session: ClientSession;
    try {
      session = await client.createSession(identity);
    } catch (err) {
      await client.disconnect();
      throw err;
    }
    const nsArray = (await session.read({ nodeId: 'i=2255', attributeId: AttributeIds.Value })).value.value as string[];
    const ns = nsArray.findIndex((u) => u.startsWith('urn:inspectd:'));
    return new PlcSession(client, session, ns);
  }

  id(path: string): string {
    return `ns=${this.ns};s=${path}`;
  }

  async read(path: string): Promise<unknown> {
    const dv = await this.session.read({ nodeId: this.id(path), attributeId: AttributeIds.Value });
    if (!dv.statusCode.isGood()) throw new Error(`read ${path}: ${dv.statusCode.name}`);
    return dv.value.value;
  }

  /** Several values in one Read request (the server answers it in one turn of its event loop). */
  async readMany(paths: string[]): Promise<unknown[]> {
    const dvs = await this.session.read(paths.map((p) => ({ nodeId: this.id(p), attributeId: AttributeIds.Value })));
    return dvs.map((dv) => dv.value.value);
  }

  async write(path: string, value: boolean): Promise<string> {
    const sc = await this.session.write({ nodeId: this.id(path), attributeId: AttributeIds.Value, value: { value: { dataType: DataType.Boolean, value } } });
    return sc.name;
  }

  async call(objectPath: string, method: string, args: Array<{ dataType: DataType; value: unknown }>): Promise<{ status: string; outputs: unknown[] }> {
    const r = await this.session.call({ objectId: this.id(objectPath), methodId: this.id(`${objectPath}.${method}`), inputArguments: args });
    return { status: r.statusCode.name, outputs: (r.outputArguments ?? []).map((v) => v.value) };
  }

  /** A subscription with one monitored item that queues every change (samplingInterval 0). */
  async monitor(path: string, onValue: (dv: DataValue) => void, queueSize = 10_000): Promise<ClientSubscription> {
    const sub = ClientSubscription.create(this.session, {
      requestedPublishingInterval: 50,
      requestedLifetimeCount: 600,
      requestedMaxKeepAliveCount: 20,
      maxNotificationsPerPublish: 0,
      publishingEnabled: true,
      priority: 10,
    });
    const item = ClientMonitoredItem.create(sub, { nodeId: this.id(path), attributeId: AttributeIds.Value }, { samplingInterval: 0, discardOldest: false, queueSize }, TimestampsToReturn.Both);
    item.on('changed', onValue);
    await new Promise<void>((res, rej) => {
      item.once('initialized', () => res());
      item.once('err', (m: string) => rej(new Error(m)));
    });
    return sub;
  }

  /** The index of a namespace by its URI (the Machine Vision one comes after the server's own). */
  async namespaceIndex(uri: string): Promise<number> {
    const nsArray = (await this.session.read({ nodeId: 'i=2255', attributeId: AttributeIds.Value })).value.value as string[];
    return nsArray.indexOf(uri);
  }

  /**
   * OPC 40100 ResultReady events raised below this object, as a vision client would ask for them:
   * the structures' definitions read from the server first (without them node-opcua's client cannot
   * decode ResultId, PartId... and drops the notification), the select clauses on ResultReadyEventType.
   */
  async monitorResultReady(objectPath: string, onEvent: (e: ResultReadyEvent) => void): Promise<ClientSubscription> {
    await this.session.extractNamespaceDataType();
    const mv = await this.namespaceIndex('http://opcfoundation.org/UA/MachineVision');
    const names = ['ResultId', 'ResultState', 'PartId', 'InternalRecipeId', 'ResultContent', 'IsPartial', 'JobId'] as const;
    const filter = constructEventFilter(['EventType', 'SourceName', ...names.map((name) => ({ namespaceIndex: mv, name }))]);
    // ResultReadyEventType is ns=MV;i=1024 (the nodeset's own id); its fields are not on BaseEventType.
    filter.selectClauses!.forEach((c, i) => {
      if (i >= 2) c.typeDefinitionId = coerceNodeId(`ns=${mv};i=1024`);
    });
    const sub = await this.session.createSubscription2({ requestedPublishingInterval: 50, requestedLifetimeCount: 600, requestedMaxKeepAliveCount: 20, maxNotificationsPerPublish: 0, publishingEnabled: true, priority: 10 });
    const item = await sub.monitor({ nodeId: this.id(objectPath), attributeId: AttributeIds.EventNotifier }, { samplingInterval: 0, discardOldest: false, queueSize: 10_000, filter }, TimestampsToReturn.Both);
    item.on('changed', (fields: Variant[]) => {
      const [eventType, sourceName, resultId, resultState, partId, recipe, content, isPartial, jobId] = fields.map((f) => f.value as unknown);
      onEvent({
        eventType: String(eventType),
        sourceName: sourceName as string,
        resultId: (resultId as { id?: string } | null)?.id,
        resultState: resultState as number,
        partId: (partId as { id?: string } | null)?.id,
        recipe: recipe as { id?: string; version?: string } | null,
        content: (content as string[] | null) ?? [],
        isPartial: isPartial as boolean,
        jobId: (jobId as { id?: string } | null)?.id,
      });
    });
    return sub;
  }

  async close(): Promise<void> {
    await this.session.close().catch(() => {});
    await this.client.disconnect();
  }
}

/** One ResultReadyEventType notification, its fields decoded. */
export interface ResultReadyEvent {
  eventType: string;
  sourceName: string;
  resultId: string | undefined;
  resultState: number;
  partId: string | undefined;
  recipe: { id?: string; version?: string } | null;
  content: string[];
  isPartial: boolean;
  jobId: string | undefined;
}

export { freePort } from '../../src/util/free-port.js';
