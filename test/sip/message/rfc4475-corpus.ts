import path from 'node:path';
import { readFileSync } from 'node:fs';

/** The RFC 4475 torture-test corpus, shared with the sibling checkouts (see its README.md). */
export const CORPUS_DIR = path.resolve(__dirname, '../../..', '../shared/testdata/rfc4475');

export type CaseKind = 'valid' | 'invalid' | 'valid-but-unusual';

export interface CorpusCase {
  name: string;
  section: string;
  kind: CaseKind;
  expected: string;
  /** The message as the archive has it: raw bytes, never decoded. */
  bytes: Buffer;
}

export function readCorpusFile(name: string): Buffer {
  return readFileSync(path.join(CORPUS_DIR, name));
}

/** Every row of index.tsv with its bytes. */
export function loadCorpus(): CorpusCase[] {
  const lines = readFileSync(path.join(CORPUS_DIR, 'index.tsv'), 'utf8').trim().split('\n').slice(1);
  return lines.map((line) => {
    const [name, section, kind, expected] = line.split('\t') as [string, string, CaseKind, string];
    return { name, section, kind, expected, bytes: readCorpusFile(name) };
  });
}
