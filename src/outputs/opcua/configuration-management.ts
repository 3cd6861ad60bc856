import { statSync } from 'node:fs';
import { DataType, DataValue, StatusCodes, Variant, type CallMethodResultOptions, type UAObject, type UAVariable } from 'node-opcua';
import type { Logger } from 'pino';
import { configFileHash, type LoadedConfig } from '../../config/running-config.js';
import { HandleDesk } from './handles.js';
import type { VisionSystem } from './machine-vision.js';
import type { ConfigActivation } from './protocol.js';
import { bindMethods, errorAnswer, idOf, pageAnswer, releaseAnswer, timeoutOf } from './method-answers.js';

/**
 * OPC 40100's ConfigurationManagement over inspectd's config file. A configuration is the file's
 * content, named by its SHA-256 (InternalId.Id, and Hash): the one the daemon runs (loaded at start
 * or by the last reload applied; LastModified = when it was loaded), and, when the file on disk has
 * been edited since, that one too (LastModified = the file's mtime). ActivateConfiguration of the
 * edited one is the daemon's live reload (SIGHUP's), with the same checks: a config it refuses is
 * BadConfigurationError and the line runs on with the old one. Configurations come only from the
 * file: the optional AddConfiguration and RemoveConfiguration are not offered (edit the file instead).
 */

/** 40100's Error output: 0 OK; negative values are inspectd's own (-1: no such configuration, or handle). */
const ERROR = { ok: 0, unknown: -1 } as const;
/** The hash algorithm, as OPC UA names SHA-256 elsewhere (security policies). */
const SHA256_URI = 'http://www.w3.org/2001/04/xmlenc#sha256';

/** What the daemon answers (on the main thread): what runs, and how an activation went. */
export type ConfigQuestion = (activate?: string) => Promise<{ loaded: LoadedConfig | undefined; activation: ConfigActivation | undefined }>;

interface ConfigurationEntry {
  hash: string;
  file: string | undefined;
  active: boolean;
  lastModified: number;
}

export class ConfigurationManagement {
  private readonly handles = new HandleDesk();

  constructor(
    private readonly vision: VisionSystem,
    node: UAObject,
    private readonly ask: ConfigQuestion,
    private readonly log: Logger,
  ) {
    bindMethods(node, vision.mv, {
      GetConfigurationList: (args) => this.list(args),
      GetConfigurationById: (args) => this.byId(args),
      ActivateConfiguration: (args) => this.activate(args),
      ReleaseConfigurationHandle: (args) => releaseAnswer(this.handles, args),
    });
    // 40100's mandatory ActiveConfiguration: read through the daemon each time (a reload by any channel changes it).
    const active = node.getComponentByName('ActiveConfiguration', vision.mv) as UAVariable | null;
    active?.bindVariable(
      {
        refreshFunc: (callback) => {
          void this.entries().then(
            ([running]) => callback(null, new DataValue({ value: running ? { dataType: DataType.ExtensionObject, value: this.data(running) } : { dataType: DataType.Null }, sourceTimestamp: new Date(running?.lastModified ?? Date.now()) })),
            (err: Error) => callback(err),
          );
        },
      },
      true,
    );
  }

  /** The running configuration first, then the file on disk when its content differs. */
  private async entries(): Promise<ConfigurationEntry[]> {
    const { loaded } = await this.ask();
    if (!loaded) return [];
    const running: ConfigurationEntry = { hash: loaded.hash, file: loaded.file, active: true, lastModified: loaded.loadedAt };
    if (!loaded.file) return [running];
    const onDisk = configFileHash(loaded.file);
    if (!onDisk || onDisk === loaded.hash) return [running];
    return [running, { hash: onDisk, file: loaded.file, active: false, lastModified: mtime(loaded.file) }];
  }

  private data(e: ConfigurationEntry): unknown {
    const where = e.file ?? '(the embedded defaults)';
    return this.vision.structure('ConfigurationDataType', {
      hasTransferableDataOnFile: false,
      internalId: this.vision.structure('ConfigurationIdDataType', {
        id: e.hash || 'defaults',
        ...(e.hash ? { hash: Buffer.from(e.hash, 'hex'), hashAlgorithm: SHA256_URI } : {}),
        description: { text: e.active ? `${where}, running` : `${where}, edited since it was loaded (not running)` },
      }).value,
      lastModified: new Date(e.lastModified),
    }).value;
  }

  private async list(args: Variant[]): Promise<CallMethodResultOptions> {
    const page = { max: Number(args[0]?.value ?? 0), start: Number(args[1]?.value ?? 0), handle: this.handles.issue(timeoutOf(args[2])) };
    return pageAnswer(await this.entries(), page, (e) => this.data(e));
  }

  private async byId(args: Variant[]): Promise<CallMethodResultOptions> {
    const id = idOf(args[0]);
    // 40100: "This argument must not be empty."
    if (!id) return { statusCode: StatusCodes.BadInvalidArgument };
    const found = (await this.entries()).find((e) => (e.hash || 'defaults') === id);
    return {
      statusCode: StatusCodes.Good,
      outputArguments: [
        { dataType: DataType.UInt32, value: this.handles.issue(timeoutOf(args[1])) },
        found ? new Variant({ dataType: DataType.ExtensionObject, value: this.data(found) }) : this.vision.structure('ConfigurationDataType', {}),
        { dataType: DataType.Int32, value: found ? ERROR.ok : ERROR.unknown },
      ],
    };
  }

  /**
   * The running one: nothing to do. The edited file: the daemon's live reload. BadConfigurationError
   * when the daemon refuses it (its reasons in the log: config.reload_refused), BadInvalidState when
   * the file was edited again since the client listed it (list again), BadNotSupported without a file.
   */
  private async activate(args: Variant[]): Promise<CallMethodResultOptions> {
    const id = idOf(args[0]);
    if (!id) return { statusCode: StatusCodes.BadInvalidArgument };
    const found = (await this.entries()).find((e) => (e.hash || 'defaults') === id);
    if (!found) return errorAnswer(ERROR.unknown);
    if (found.active) return errorAnswer(ERROR.ok);
    const { activation } = await this.ask(found.hash);
    const result = activation?.result ?? 'unsupported';
    this.log.info({ event: 'opcua.configuration_activated', hash: found.hash, result, issues: activation?.issues }, `opc ua: ActivateConfiguration ${result}`);
    if (result === 'applied') return errorAnswer(ERROR.ok);
    return { statusCode: result === 'refused' ? StatusCodes.BadConfigurationError : result === 'changed' ? StatusCodes.BadInvalidState : StatusCodes.BadNotSupported };
  }
}

function mtime(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return Date.now();
  }
}
