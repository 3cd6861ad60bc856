import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ModelImportError } from '../../errors.js';
import type { OnnxModelInfo } from '../onnx/model-info.js';
import { dimsText, exportInput, output } from './input.js';
import type { Imported } from './imported.js';

/**
 * Anomalib's ONNX exports. Two generations:
 * - 0.x/1.x: outputs `pred_score` and `anomaly_map`, raw (un-normalised), with the numbers that
 *   normalise them in `metadata.json` beside the .onnx (or in the ONNX metadata_props): the
 *   adaptive `image_threshold` and `pixel_threshold` and the `min`/`max` of the validation maps.
 *   normalised = clamp((x - threshold) / (max - min) + 0.5, 0, 1) puts each threshold at 0.5, which
 *   is what the anomaly-map decoder's `normalization` block computes. `transform` there (an
 *   albumentations Compose in 1.0) carries the input's Resize and Normalize.
 * - 2.x: the post-processor is inside the graph (extra outputs `pred_label`, `pred_mask`): scores
 *   and maps already normalised, threshold 0.5; the pre-processor too, so the input is x/255.
 */
export function isAnomalib(info: OnnxModelInfo): boolean {
  return output(info, 'pred_score') !== undefined && output(info, 'anomaly_map') !== undefined;
}

export interface AnomalibMetadata {
  image_threshold?: number;
  pixel_threshold?: number;
  min?: number;
  max?: number;
  task?: string;
  transform?: unknown;
}

/** metadata.json beside the file, else the four numbers from metadata_props, else nothing. */
export function anomalibMetadata(info: OnnxModelInfo, file: string, explicit?: string): { md: AnomalibMetadata; from: string } | undefined {
  const sidecar = explicit ?? join(dirname(file), 'metadata.json');
  if (existsSync(sidecar)) {
    try {
      return { md: JSON.parse(readFileSync(sidecar, 'utf8')) as AnomalibMetadata, from: sidecar };
    } catch (err) {
      throw new ModelImportError(`${sidecar}: not readable JSON (${(err as Error).message})`);
    }
  }
  if (explicit) throw new ModelImportError(`--metadata ${explicit}: no such file`);
  const props = info.metadata;
  const keys = ['image_threshold', 'pixel_threshold', 'min', 'max'] as const;
  if (keys.every((k) => k in props)) {
    const md: AnomalibMetadata = {};
    for (const k of keys) md[k] = Number(props[k]);
    return { md, from: `${file} metadata_props` };
  }
  return undefined;
}

interface Found {
  mean?: number[];
  std?: number[];
  maxPixel?: number;
  height?: number;
  width?: number;
}

/** Walks an albumentations/torchvision transform description for its Normalize and Resize. */
function findTransforms(node: unknown, found: Found = {}): Found {
  if (Array.isArray(node)) {
    for (const n of node) findTransforms(n, found);
  } else if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    const cls = String(o['__class_fullname__'] ?? o['class_path'] ?? o['type'] ?? '');
    if (/Normalize$/.test(cls) && Array.isArray(o['mean']) && Array.isArray(o['std'])) {
      found.mean = (o['mean'] as unknown[]).map(Number);
      found.std = (o['std'] as unknown[]).map(Number);
      if (typeof o['max_pixel_value'] === 'number') found.maxPixel = o['max_pixel_value'];
    }
    if (/Resize$/.test(cls) && typeof o['height'] === 'number' && typeof o['width'] === 'number') {
      found.height = o['height'];
      found.width = o['width'];
    }
    for (const v of Object.values(o)) if (v && typeof v === 'object') findTransforms(v, found);
  }
  return found;
}

export function importAnomalib(info: OnnxModelInfo, file: string, opts: { metadata?: string; probabilitiesWithThreshold?: boolean; mean?: number[]; std?: number[] }): Imported {
  const input = exportInput(info, file);
  const score = output(info, 'pred_score')!;
  const map = output(info, 'anomaly_map')!;
  const mapDims = map.dims;
  if (mapDims.length < 2 || mapDims.length > 4) {
    throw new ModelImportError(`${file}: anomaly_map has shape [${dimsText(mapDims)}]; expected [1, 1, h, w] or [1, h, w]`);
  }
  const inGraph = output(info, 'pred_label') !== undefined || output(info, 'pred_mask') !== undefined;
  // Sigmoid-ended outputs are probabilities already (inspectd's own models): no normalisation,
  // but their threshold is not in the file, so it must be given.
  const sigmoids = info.outputProducers[score.name] === 'Sigmoid' && info.outputProducers[map.name] === 'Sigmoid';
  const meta = inGraph ? undefined : anomalibMetadata(info, file, opts.metadata);
  const notes: string[] = [];
  let normalization: Record<string, number> | undefined;
  if (inGraph) {
    notes.push('Anomalib 2.x layout: post-processing in the graph (pred_label/pred_mask), scores already normalised to threshold 0.5');
  } else if (!meta && sigmoids) {
    if (!opts.probabilitiesWithThreshold) {
      throw new ModelImportError(
        `${file}: pred_score and anomaly_map end in Sigmoid (probabilities, as inspectd's own models), but the file does not say at which score a part fails: pass --threshold X (and --mean/--std: the input normalisation is not in the file either)`,
      );
    }
    notes.push('pred_score/anomaly_map end in Sigmoid: probabilities, no normalisation');
  } else {
    const md = meta?.md;
    const missing = (['image_threshold', 'pixel_threshold', 'min', 'max'] as const).filter((k) => typeof md?.[k] !== 'number' || !Number.isFinite(md[k]));
    if (!md || missing.length > 0) {
      throw new ModelImportError(
        `${file}: an Anomalib export with raw pred_score/anomaly_map needs its normalisation metadata ` +
          `(image_threshold, pixel_threshold, min, max; ${meta ? `${meta.from} lacks ${missing.join(', ')}` : 'no metadata.json beside it and none in the ONNX metadata'}): ` +
          'without them its scores have no threshold. Pass --metadata path/to/metadata.json (Anomalib writes it beside the export)',
      );
    }
    if (!(md.max! > md.min!)) throw new ModelImportError(`${meta!.from}: max (${md.max}) must be greater than min (${md.min})`);
    normalization = { imageThreshold: md.image_threshold!, pixelThreshold: md.pixel_threshold!, min: md.min!, max: md.max! };
    notes.push(`Anomalib min-max normalisation from ${meta!.from}: image threshold ${md.image_threshold}, pixel threshold ${md.pixel_threshold}, min ${md.min}, max ${md.max}`);
  }
  const t = meta ? findTransforms(meta.md.transform) : {};
  const height = input.height ?? t.height;
  const width = input.width ?? t.width;
  if (!height || !width) throw new ModelImportError(`${file}: the input size is dynamic and the metadata's transform does not give it; re-export with a fixed image size`);
  const channels = input.channels;
  let mean = [0];
  let std = [1];
  let scale = 1 / 255;
  if (t.mean && t.std) {
    if (![1, channels].includes(t.mean.length) || ![1, channels].includes(t.std.length)) {
      throw new ModelImportError(`${meta!.from}: Normalize has ${t.mean.length} means / ${t.std.length} stds for a ${channels}-channel input`);
    }
    mean = t.mean;
    std = t.std;
    // albumentations: (x - mean * max_pixel_value) / (std * max_pixel_value) == (x/max - mean) / std.
    scale = 1 / (t.maxPixel ?? 255);
    notes.push(`input normalisation from the metadata's transform: mean [${mean.join(', ')}], std [${std.join(', ')}]`);
  } else if (opts.mean && opts.std) {
    mean = opts.mean;
    std = opts.std;
  } else if (!inGraph) {
    notes.push('no Normalize in the metadata: assumed the export normalises inside the graph (Anomalib 1.1+), input x/255; check with inspectd eval on labelled parts');
  }
  return {
    kind: inGraph ? 'anomalib-2' : normalization ? 'anomalib' : 'anomaly-map',
    notes,
    spec: {
      input: { name: input.name, width, height, colorOrder: channels === 1 ? 'GRAY' : 'RGB', layout: input.layout, resize: 'stretch', scale, mean, std },
      decoder: { type: 'anomaly-map', scoreOutput: score.name, mapOutput: map.name, ...(normalization ? { normalization } : {}), pixelThreshold: 0.5, defectLabel: 'defect' },
      labels: ['defect'],
      thresholds: {
        default: 0.5,
        perClass: {},
        rule: "inspectd import: Anomalib's adaptive threshold, which its normalisation puts at 0.5; check it on your own parts with inspectd eval",
      },
    },
  };
}
