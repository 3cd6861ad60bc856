import { ModelImportError } from '../../errors.js';
import { elemTypeName, ONNX_FLOAT, type OnnxModelInfo, type OnnxTensorInfo } from '../onnx/model-info.js';

/** The model's one image input as an export describes it: name, layout, channels and (when static) size. */
export interface ExportInput {
  name: string;
  layout: 'NCHW' | 'NHWC';
  channels: 1 | 3;
  /** Null where the export leaves the size dynamic; an importer must then find it elsewhere. */
  width: number | null;
  height: number | null;
}

/** inspectd feeds one float32 image tensor of batch 1; anything else is refused here, with what it is. */
export function exportInput(info: OnnxModelInfo, file: string): ExportInput {
  if (info.inputs.length !== 1) {
    throw new ModelImportError(
      `${file} has ${info.inputs.length} inputs (${info.inputs.map((i) => i.name).join(', ')}); inspectd feeds a model exactly one image tensor`,
    );
  }
  const input = info.inputs[0]!;
  if (input.elemType !== ONNX_FLOAT) {
    throw new ModelImportError(
      `${file}: input "${input.name}" is ${elemTypeName(input.elemType)}; inspectd feeds float32 (re-export without half precision or uint8 input)`,
    );
  }
  const d = input.dims;
  if (d.length !== 4) throw new ModelImportError(`${file}: input "${input.name}" has shape [${dimsText(d)}]; an image input is 4-D (N,C,H,W or N,H,W,C)`);
  if (typeof d[0] === 'number' && d[0] !== 1) {
    throw new ModelImportError(`${file}: input "${input.name}" has batch ${d[0]}; inspectd runs one frame at a time (export with batch 1)`);
  }
  const size = (v: OnnxTensorInfo['dims'][number] | undefined) => (typeof v === 'number' && v > 0 ? v : null);
  if (d[1] === 1 || d[1] === 3) return { name: input.name, layout: 'NCHW', channels: d[1], height: size(d[2]), width: size(d[3]) };
  if (d[3] === 1 || d[3] === 3) return { name: input.name, layout: 'NHWC', channels: d[3], height: size(d[1]), width: size(d[2]) };
  throw new ModelImportError(`${file}: input "${input.name}" has shape [${dimsText(d)}]: neither 1 nor 3 channels in NCHW or NHWC`);
}

export function dimsText(dims: readonly unknown[]): string {
  return dims.map((x) => (x === null ? '?' : String(x))).join(', ');
}

/** An output by name, or undefined. */
export function output(info: OnnxModelInfo, name: string): OnnxTensorInfo | undefined {
  return info.outputs.find((o) => o.name === name);
}
