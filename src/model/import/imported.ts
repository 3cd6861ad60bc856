/** What one family's importer read from an export: the model.json parts it can vouch for, and what it noticed. */
export interface Imported {
  kind: 'ultralytics-v8' | 'ultralytics-end2end' | 'ultralytics-classify' | 'anomalib' | 'anomalib-2' | 'anomaly-map' | 'classifier';
  spec: { input: Record<string, unknown>; decoder: Record<string, unknown>; labels: string[]; thresholds: Record<string, unknown> };
  notes: string[];
}
