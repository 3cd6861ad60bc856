import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * `-m` takes the model.json that describes a model (files, input, decoder, thresholds), not the
 * .onnx it points to; a user who passes the .onnx gets that said, and the model.json beside it
 * named when there is one, instead of a JSON parse error about binary bytes.
 */
export function modelArgProblem(path: string): string | undefined {
  if (!/\.onnx$/i.test(path)) return undefined;
  const beside = join(dirname(path), 'model.json');
  return `-m expects the model's model.json, not the .onnx file${existsSync(beside) ? ` (try -m ${beside})` : ` (write one with: inspectd import ${path})`}; docs/model-json.md describes model.json`;
}
