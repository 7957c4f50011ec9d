/** Reads the sample objects in crds/samples/*.yaml (used by unit and e2e tests). */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { KindName } from '../index.ts';

export const SAMPLES_DIR = dirname(fileURLToPath(import.meta.url));

export interface SampleObject {
  apiVersion: string;
  kind: KindName;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
}

export interface Sample {
  file: string;
  object: SampleObject;
}

/** Every document of every sample file, in file-name order. */
export function loadSamples(): Sample[] {
  const files = readdirSync(SAMPLES_DIR).filter((f) => f.endsWith('.yaml')).sort();
  return files.flatMap((file) =>
    parseAllDocuments(readFileSync(join(SAMPLES_DIR, file), 'utf8'))
      .map((doc) => doc.toJS() as SampleObject | null)
      .filter((object): object is SampleObject => object !== null)
      .map((object) => ({ file, object })),
  );
}
