import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { errorCode, errorMessage } from '../../errors.js';
import { openModel, type OpenModel } from '../../inspect/model.js';
import { describeExport, type ImportOptions } from '../../model/import/describe.js';
import { EXIT_BAD_MODEL, EXIT_USAGE } from '../exit-codes.js';
import { describe, judgeFile } from './infer.js';

export interface ImportCommandOptions extends Omit<ImportOptions, 'out' | 'selfTest'> {
  out?: string;
  image?: string;
  force?: boolean;
}

/**
 * `inspectd import MODEL.onnx [--image IMG] [--out model.json]`: reads what the export says about
 * itself, writes the model.json that describes it, and proves it: the model is opened exactly as
 * the daemon opens it (I/O names, a warm-up frame, the image as a self-test) before the file is
 * put in place, so a model.json that exists is one the daemon accepts. What the export cannot
 * tell (and the options do not) is refused with the reason (exit 2).
 */
export async function importCommand(onnx: string, opts: ImportCommandOptions, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): Promise<number> {
  const out = resolve(opts.out ?? join(dirname(onnx), 'model.json'));
  if (existsSync(out) && !opts.force) {
    stderr.write(`inspectd import: ${out} exists; pass --force to replace it or --out to write elsewhere\n`);
    return EXIT_USAGE;
  }
  if (opts.image && !existsSync(opts.image)) {
    stderr.write(`inspectd import: --image ${opts.image}: no such file\n`);
    return EXIT_USAGE;
  }
  let described: ReturnType<typeof describeExport>;
  try {
    described = describeExport(onnx, { ...opts, out, ...(opts.image ? { selfTest: [opts.image] } : {}) });
  } catch (err) {
    stderr.write(`inspectd import: ${errorMessage(err)} (${errorCode(err)})\n`);
    return EXIT_BAD_MODEL;
  }
  const { spec, imported } = described;
  stdout.write(`${onnx}: ${imported.kind}\n`);
  for (const n of imported.notes) stdout.write(`  ${n}\n`);
  const i = spec.input;
  stdout.write(`  input "${i.name}" ${i.width}x${i.height} ${i.colorOrder} ${i.layout} ${i.resize}, x*${+i.scale.toFixed(6)} mean [${i.mean.join(', ')}] std [${i.std.join(', ')}]\n`);
  stdout.write(`  decoder ${spec.decoder.type}; ${spec.labels.length} label(s): ${spec.labels.slice(0, 8).join(', ')}${spec.labels.length > 8 ? ', ...' : ''}; threshold ${spec.thresholds.default}\n`);

  // Checked where the daemon would read it: relative file names resolve against out's folder.
  const staging = `${out}.import-${process.pid}.tmp`;
  writeFileSync(staging, JSON.stringify(described.raw, null, 2) + '\n');
  let model: OpenModel | undefined;
  try {
    model = await openModel(staging, { intraOpThreads: 1 });
    stdout.write(`  opened on ${model.info.backend} (${model.info.precision}): inputs and outputs match, warm-up${opts.image ? ' and self-test image' : ''} scores in range\n`);
    if (opts.image) {
      const line = await judgeFile(model, opts.image);
      stdout.write(`${opts.image}: ${line.verdict} score ${line.score.toFixed(4)}, ${line.defects.length} defect(s)${line.defects.length ? ':' : ''}\n`);
      for (const d of line.defects.slice(0, 20)) {
        stdout.write(`  ${d.label} ${d.score.toFixed(3)}${d.box ? ` box [${d.box.map((v) => Math.round(v)).join(', ')}] (x, y, w, h in image pixels)` : ''}\n`);
      }
      if (line.defects.length > 20) stdout.write(`  ... ${line.defects.length - 20} more\n`);
    }
  } catch (err) {
    stderr.write(`inspectd import: ${onnx} does not run as described: ${describe(err)}\n`);
    rmSync(staging, { force: true });
    return EXIT_BAD_MODEL;
  } finally {
    await model?.close();
  }
  renameSync(staging, out);
  stdout.write(`wrote ${out}\n`);
  return 0;
}
