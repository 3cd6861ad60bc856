import type { ModelSpec } from '../model/spec.js';
import { AnomalyMapDecoder } from './anomaly-map.js';
import { ClassificationDecoder } from './classification.js';
import type { Decoder } from './decoder.js';
import { PatchClassifierDecoder } from './patch-classifier.js';
import { YoloDecoder } from './yolo.js';

export type { Candidate, Decoded, Decoder } from './decoder.js';

/** The decoder model.json's `decoder.type` names. Each instance keeps scratch buffers: one per model. */
export function createDecoder(spec: ModelSpec): Decoder {
  switch (spec.decoder.type) {
    case 'classification':
      return new ClassificationDecoder(spec);
    case 'anomaly-map':
      return new AnomalyMapDecoder(spec);
    case 'yolo':
      return new YoloDecoder(spec);
    case 'patch-classifier':
      return new PatchClassifierDecoder(spec);
  }
}
