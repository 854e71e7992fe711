import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';

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
  return { ok: true, value, lineOf: (path) => lineOfPath(doc, counter, path) };
}

/** Line of the deepest node along `path` that exists (a mapping entry's key line), 1 for the document itself. */
function lineOfPath(doc: Document, counter: LineCounter, path: KeyPath): number {
  const lineAt = (node: unknown): number | undefined => {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    return range ? counter.linePos(range[0]).line : undefined;
  };
  let node: unknown = doc.contents;
  let line = lineAt(node) ?? 1;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(segment));
      if (pair === undefined) break;
      line = lineAt(pair.key) ?? line;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number' && node.items[segment] !== undefined) {
      node = node.items[segment];
      line = lineAt(node) ?? line;
    } else {
      break;
    }
  }
  return line;
}
