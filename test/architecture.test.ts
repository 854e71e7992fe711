import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

// The layering of the design brief: which src/ areas each area may import. Arrows point down only.
const SIP = ['sip/message', 'sip/transport', 'sip/transaction', 'sip/dialog', 'sip/engine', 'sip/drachtio'];
const ALLOWED: Record<string, string[]> = {
  lib: [],
  config: ['lib'],
  'sip/message': ['lib'],
  'sip/transport': ['lib', 'sip/message'],
  'sip/transaction': ['lib', 'sip/message', 'sip/transport'],
  'sip/dialog': ['lib', 'sip/message', 'sip/transport', 'sip/transaction'],
  'sip/engine': ['lib', 'sip/message', 'sip/transport', 'sip/transaction'],
  'sip/drachtio': ['lib', ...SIP],
  sip: ['lib', ...SIP],
  media: ['lib'],
  acd: ['lib'],
  // Customers, their identities, cases and timelines: Redis only, no channel, no ACD.
  customers: ['lib'],
  // Notifications: business events to messages on customers' channels, by their profiles' preferences.
  notifications: ['lib', 'customers', 'reports'],
  // Reports count the ACD's events and what channels tell them; they know no channel.
  reports: ['lib', 'acd'],
  // Metrics read the ACD's replica and events (with the reports' wait buckets, so that both agree).
  metrics: ['lib', 'acd', 'reports'],
  http: ['lib', 'metrics'],
  // Channels control calls through drachtio-srf only, never through the engine's internals.
  // ...and implement the agent feed's call controls and interaction history (src/agents' interfaces).
  channels: ['lib', 'config', 'media', 'acd', 'ivr', 'agents', 'customers', 'reports'],
  ivr: ['lib', 'config', 'media', 'acd'],
  dialer: ['lib', 'config', 'acd', 'channels', 'media', 'ivr', 'dialer/pacing', 'customers'],
  // The pacing runs live and in bench/dialer-sim's simulated time: pure, no clock, no I/O.
  'dialer/pacing': ['lib'],
  agents: ['lib', 'config', 'acd'],
  setup: [],
  root: ['*'],
};

const SRC = resolve(__dirname, '../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** The layer a file belongs to: `sip/<part>` inside the engine, the top folder elsewhere, `root` for src/*.ts. */
function areaOf(file: string): string {
  const parts = relative(SRC, file).split('/');
  if (parts.length === 1) return 'root';
  if (parts[0] === 'sip') return parts.length === 2 ? 'sip' : `sip/${parts[1]}`;
  if (parts[0] === 'dialer' && parts[1] === 'pacing' && parts.length > 2) return 'dialer/pacing';
  return parts[0]!;
}

function localImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|require\(|import\()\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
  return specs.map((spec) => {
    const base = resolve(dirname(file), spec);
    for (const candidate of [`${base}.ts`, join(base, 'index.ts')]) {
      try {
        if (statSync(candidate).isFile()) return candidate;
      } catch {
        // try the next form
      }
    }
    return `${base}.ts`;
  });
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, localImports(f)]));

t.test('every import in src/ points down the layering of the design brief', async (t) => {
  const violations: string[] = [];
  for (const [file, imports] of graph) {
    const from = areaOf(file);
    const allowed = ALLOWED[from];
    if (!allowed) {
      violations.push(`${relative(SRC, file)}: area "${from}" is not in the layering table`);
      continue;
    }
    for (const target of imports) {
      const to = areaOf(target);
      if (to === from || allowed.includes('*') || allowed.includes(to)) continue;
      violations.push(`${relative(SRC, file)} (${from}) imports ${relative(SRC, target)} (${to})`);
    }
  }
  t.same(violations, []);
});

t.test('src/ has no import cycles', async (t) => {
  const cycles: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (file: string, path: string[]): void => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'visiting') {
      cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(SRC, f)).join(' → '));
      return;
    }
    state.set(file, 'visiting');
    for (const next of graph.get(file) ?? []) if (graph.has(next)) visit(next, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of graph.keys()) visit(file, []);
  t.same(cycles, []);
});

t.test('the layering check can fail: an upward import is caught', async (t) => {
  t.notOk(ALLOWED['sip/message']!.includes('sip/transaction'));
  t.equal(areaOf(join(SRC, 'sip/message/parser.ts')), 'sip/message');
  t.equal(areaOf(join(SRC, 'server.ts')), 'root');
  t.equal(areaOf(join(SRC, 'dialer/pacing/pacer.ts')), 'dialer/pacing');
  t.notOk(ALLOWED['dialer/pacing']!.includes('acd'), 'the pacing imports nothing but lib');
});
