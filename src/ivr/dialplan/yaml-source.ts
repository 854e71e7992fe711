import { LineCounter, parseDocument } from 'yaml';
import { yamlLineOf } from '../../lib/index';

export type KeyPath = readonly (string | number)[];

export type ParsedYaml =
  | { readonly ok: true; readonly value: unknown; lineOf(path: KeyPath): number }
  | { readonly ok: false; readonly errors: readonly { readonly line?: number; readonly reason: string }[] };

/**
 * Parses YAML keeping positions, so that a problem found in the plain value can be reported at its line. Duplicate
 * keys are syntax errors here (yaml's default), which is what catches two nodes with the same id.
 */
export function parseYamlWithLines(text: string): ParsedYaml {
  const counter = new LineCounter();
  // prettyErrors is what fills in linePos; the excerpt it appends to the message is cut off below.
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((err) => ({
        ...(err.linePos ? { line: err.linePos[0].line } : {}),
        reason: `YAML syntax error: ${err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
      })),
    };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return { ok: false, errors: [{ reason: `YAML error: ${(err as Error).message}` }] };
  }
  return { ok: true, value, lineOf: (path) => yamlLineOf(doc, counter, path) ?? 1 };
}
