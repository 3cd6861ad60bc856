import { coerceNodeId, DataType, Variant } from 'node-opcua';
import type { PlcSession } from './opcua.js';

/** OPC 40100's id structures by DataType id (i= in the Machine Vision namespace), as the tests build them for method inputs. */
export const MV_TYPES = { resultId: 3021, measId: 3015, partId: 3004, externalRecipeId: 3002, internalRecipeId: 3013, configurationId: 3008, productId: 3003, jobId: 3016 } as const;

/**
 * An OPC 40100 client's side on a PLC session: the Machine Vision structures' definitions read from
 * the server once (node-opcua's client needs them to encode and decode ResultIdDataType & co), and
 * method calls on the station's 40100 objects, whose node ids are `{station}-{Object}-{Method}`.
 */
export class MachineVisionClient {
  private constructor(
    private readonly plc: PlcSession,
    readonly ns: number,
  ) {}

  static async open(plc: PlcSession): Promise<MachineVisionClient> {
    await plc.session.extractNamespaceDataType();
    return new MachineVisionClient(plc, await plc.namespaceIndex('http://opcfoundation.org/UA/MachineVision'));
  }

  /** One of 40100's structures as an input argument. */
  async structure(typeId: number, fields: Record<string, unknown>): Promise<Variant> {
    const value = await this.plc.session.constructExtensionObject(coerceNodeId(`ns=${this.ns};i=${typeId}`), fields);
    return new Variant({ dataType: DataType.ExtensionObject, value });
  }

  async call(object: string, method: string, inputArguments: Variant[]): Promise<{ status: string; outputs: unknown[] }> {
    const r = await this.plc.session.call({ objectId: this.plc.id(object), methodId: this.plc.id(`${object}-${method}`), inputArguments });
    return { status: r.statusCode.name, outputs: (r.outputArguments ?? []).map((v) => v.value) };
  }
}
