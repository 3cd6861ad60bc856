import type { Decoder } from '../decode/decoder.js';
import { toInputs } from '../infer/model.js';
import type { LoadedModelSpec } from '../model/spec.js';
import { preprocess } from '../preprocess/preprocess.js';
import { decide, type VerdictRules } from '../verdict/rules.js';
import type { PipelineStages } from './scheduler.js';

/** preprocess → (backend) → decode → verdict rules, for one model and per-camera rules. */
export function createStages(loaded: LoadedModelSpec, decoder: Decoder, rulesByCamera: ReadonlyMap<string, VerdictRules>): PipelineStages {
  const input = loaded.spec.input;
  const labels = loaded.spec.labels;
  return {
    preprocess: (frame) => {
      try {
        return preprocess(frame.image, input);
      } finally {
        // The tensor holds all the model needs; the frame's pixels can go now, not at the next GC.
        frame.image.release();
      }
    },
    toInputs: (p) => toInputs(loaded.spec, p),
    judge: (frame, outputs, p) => {
      const rules = rulesByCamera.get(frame.camera);
      if (!rules) throw new Error(`no verdict rules for camera ${frame.camera}`);
      return decide(decoder.decode(outputs, p.transform), rules, labels);
    },
  };
}
