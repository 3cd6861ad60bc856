import { describe, expect, it } from 'vitest';
import { createDecoder } from '../../src/decode/index.js';
import { ModelOutputRangeError, ModelSpecError } from '../../src/errors.js';
import { identity, specWith, tensor } from './spec-helpers.js';

const T = identity(640, 640);

describe('classification decoder', () => {
  it('softmax: part score is 1 - p(good), candidates are the non-good labels', () => {
    const spec = specWith({ type: 'classification', output: 'logits', activation: 'softmax' }, ['good', 'scratch', 'dent']);
    const d = createDecoder(spec).decode(tensor('logits', [1, 3], [2, 1, 0]), T);
    const z = Math.exp(2) + Math.exp(1) + 1;
    expect(d.score).toBeCloseTo(1 - Math.exp(2) / z, 6);
    expect(d.candidates).toEqual([
      { label: 'scratch', score: expect.closeTo(Math.exp(1) / z, 6) },
      { label: 'dent', score: expect.closeTo(1 / z, 6) },
    ]);
    expect(d.judge).toBe('part');
  });

  it('softmax honours a configured good label', () => {
    const spec = specWith({ type: 'classification', output: 'logits', activation: 'softmax', goodLabel: 'ok' }, ['crack', 'ok']);
    const d = createDecoder(spec).decode(tensor('logits', [1, 2], [0, 0]), T);
    expect(d.score).toBeCloseTo(0.5, 6);
    expect(d.candidates.map((c) => c.label)).toEqual(['crack']);
  });

  it('sigmoid: part score is the most likely non-good label', () => {
    const spec = specWith({ type: 'classification', output: 'logits', activation: 'sigmoid' }, ['good', 'scratch', 'dent']);
    const d = createDecoder(spec).decode(tensor('logits', [1, 3], [3, 0, 2]), T);
    expect(d.score).toBeCloseTo(1 / (1 + Math.exp(-2)), 6);
    expect(d.candidates[0]).toEqual({ label: 'dent', score: expect.closeTo(1 / (1 + Math.exp(-2)), 6) });
  });

  it('sigmoid: a single output over [good, defect] is p(defect)', () => {
    const spec = specWith({ type: 'classification', output: 'logit', activation: 'sigmoid' }, ['good', 'defect']);
    const d = createDecoder(spec).decode(tensor('logit', [1, 1], [1]), T);
    expect(d.score).toBeCloseTo(1 / (1 + Math.exp(-1)), 6);
  });

  it('none: probabilities are used as given, and one outside scoreRange is rejected', () => {
    const spec = specWith({ type: 'classification', output: 'probs', activation: 'none' }, ['good', 'scratch', 'dent']);
    expect(createDecoder(spec).decode(tensor('probs', [1, 3], [0.7, 0.2, 0.1]), T).score).toBeCloseTo(0.3, 6);
    expect(() => createDecoder(spec).decode(tensor('probs', [1, 3], [0.1, 1.3, 0]), T)).toThrow(ModelOutputRangeError);
  });

  it('refuses softmax without the good label among the labels, and outputs of the wrong size', () => {
    expect(() => createDecoder(specWith({ type: 'classification', output: 'x', activation: 'softmax' }, ['a', 'b']))).toThrow(ModelSpecError);
    const spec = specWith({ type: 'classification', output: 'x', activation: 'softmax' }, ['good', 'bad']);
    expect(() => createDecoder(spec).decode(tensor('x', [1, 3], [0, 0, 0]), T)).toThrow(/3 values.*one per label \(2\)/);
  });
});
