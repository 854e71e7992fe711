import t, { type Test } from 'tap';
import { copyFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { InvalidStateError } from '../../src/lib/index';
import {
  DialplanError,
  DialplanSet,
  formatDialplanProblem,
  type DialplanProblem,
  type DialplanSetEvents,
  type PlayNode,
} from '../../src/ivr/dialplan/index';
import { delay, within } from '../helpers/wait';
import { realLookups } from './lookups';

const RELOAD_WAIT_MS = 3000;

/** A small valid dialplan answering `numbers`, whose greeting node plays `greeting`. */
function dialplanText(id: string, numbers: string[], greeting = 'welcome', extra = ''): string {
  return `id: ${id}
name: ${id} ${greeting}
numbers: [${numbers.map((n) => `"${n}"`).join(', ')}]
language: en
start: greet
onError: bye
nodes:
  greet:
    type: play
    prompt: ${greeting}
    next: bye
  bye:
    type: hangup
    prompt: goodbye
${extra}`;
}

/** A pino logger whose lines land in `lines`. */
function capturingLogger(lines: string[]) {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()).msg as string);
      done();
    },
  });
  return pino({ level: 'info' }, stream);
}

function open(t: Test, dir: string, logLines: string[] = []): DialplanSet {
  const set = DialplanSet.load({ dir, lookups: realLookups, debounceMs: 20, logger: capturingLogger(logLines) });
  t.teardown(() => set.close());
  return set;
}

function next<E extends keyof DialplanSetEvents & string>(set: DialplanSet, event: E): Promise<DialplanSetEvents[E]> {
  return within(new Promise((resolve) => set.once(event, (...args) => resolve(args))), RELOAD_WAIT_MS, `DialplanSet event ${event}`);
}

function loadError(dir: string): DialplanError {
  try {
    DialplanSet.load({ dir, lookups: realLookups, watch: false }).close();
  } catch (err) {
    if (err instanceof DialplanError) return err;
    throw err;
  }
  throw new Error('DialplanSet.load should have thrown');
}

t.test('loads every *.yaml of a folder and routes numbers to dialplans, in the number route language', async (t) => {
  const dir = t.testdir({ 'notes.txt': 'not a dialplan', 'README.md': '# not a dialplan' });
  writeFileSync(path.join(dir, 'a.yaml'), dialplanText('a', ['100', '101']));
  copyFileSync(path.resolve(__dirname, '../../dialplans/sample.yaml'), path.join(dir, 'sample.yaml'));
  const set = open(t, dir);
  t.same(set.dialplans().map((d) => d.id).sort(), ['a', 'sample']);
  t.equal(set.route('101')?.dialplan.id, 'a');
  t.equal(set.route('101')?.language, 'en');
  t.equal(set.route('+886212345678')?.language, 'zh-TW');
  t.equal(set.route('999'), undefined);
  t.equal(set.get('sample')?.file, path.join(dir, 'sample.yaml'));
});

t.test('a number answered by two files fails the load with the later file, its line and both files named', async (t) => {
  const dir = t.testdir();
  writeFileSync(path.join(dir, 'a.yaml'), dialplanText('a', ['100']));
  writeFileSync(path.join(dir, 'b.yaml'), dialplanText('b', ['200', '100']));
  const err = loadError(dir);
  t.equal(err.code, 'IVR_DIALPLAN_INVALID');
  t.same(err.problems.map(formatDialplanProblem), [`${path.join(dir, 'b.yaml')}:3: numbers[1]: number 100 is already answered by ${path.join(dir, 'a.yaml')}`]);
});

t.test('every file\'s problems are reported together, and transfers must name a loaded dialplan', async (t) => {
  const dir = t.testdir();
  writeFileSync(path.join(dir, 'a.yaml'), dialplanText('a', ['100'], 'welcom'));
  const transfer = '  away:\n    type: transfer\n    to: { dialplan: nowhere }\n';
  writeFileSync(path.join(dir, 'b.yaml'), dialplanText('b', ['200'], 'welcome', transfer).replace('next: bye', 'next: away'));
  writeFileSync(path.join(dir, 'c.yaml'), 'id: c\nnodes: [');
  const found = loadError(dir).problems.map(formatDialplanProblem);
  t.match(found, [
    new RegExp(`^${path.join(dir, 'a.yaml')}:10: nodes\\.greet\\.prompt: unknown prompt "welcom"`),
    new RegExp(`^${path.join(dir, 'c.yaml')}:2: YAML syntax error`),
    new RegExp(`^${path.join(dir, 'b.yaml')}:17: nodes\\.away\\.to\\.dialplan: no dialplan "nowhere" is loaded`),
  ]);
});

t.test('hot reload: a valid edit serves new calls while a call keeps its version; a broken edit keeps the old one', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'a.yaml');
  writeFileSync(file, dialplanText('a', ['100']));
  const logLines: string[] = [];
  const set = open(t, dir, logLines);
  const inCall = set.route('100')!.dialplan;

  const loaded = next(set, 'loaded');
  writeFileSync(file, dialplanText('a', ['100'], 'please-hold'));
  const [v2] = await loaded;
  t.equal(set.route('100')!.dialplan, v2);
  t.same((set.route('100')!.dialplan.nodes['greet'] as PlayNode).prompt, [{ prompt: 'please-hold' }], 'new calls get the new version');
  t.not(v2.version, inCall.version);
  t.same((inCall.nodes['greet'] as PlayNode).prompt, [{ prompt: 'welcome' }], 'the call in progress keeps the version it started with');
  t.equal(inCall.name, 'a welcome');

  const rejected = next(set, 'rejected');
  writeFileSync(file, dialplanText('a', ['100'], 'no-such-prompt'));
  const [rejectedFile, problems] = await rejected;
  t.equal(rejectedFile, file);
  t.same((problems as readonly DialplanProblem[]).map(formatDialplanProblem), [`${file}:10: nodes.greet.prompt: unknown prompt "no-such-prompt"`]);
  t.equal(set.route('100')!.dialplan, v2, 'the last good version stays in service');
  t.ok(logLines.some((l) => l.includes(`${file}:10: nodes.greet.prompt: unknown prompt "no-such-prompt"`)), 'the refusal is logged with file:line', { logLines });

  const syntax = next(set, 'rejected');
  writeFileSync(file, 'id: a\nnodes: {');
  const [, syntaxProblems] = await syntax;
  t.match((syntaxProblems as readonly DialplanProblem[])[0], { file, line: 2, reason: /YAML syntax error/ });
  t.equal(set.route('100')!.dialplan, v2);

  const fixed = next(set, 'loaded');
  writeFileSync(file, dialplanText('a', ['100', '102']));
  await fixed;
  t.equal(set.route('102')?.dialplan.id, 'a');
});

t.test('hot reload: a file added starts answering, a deleted one stops, a clash with another file is refused', async (t) => {
  const dir = t.testdir();
  writeFileSync(path.join(dir, 'a.yaml'), dialplanText('a', ['100']));
  const set = open(t, dir);

  const loaded = next(set, 'loaded');
  writeFileSync(path.join(dir, 'b.yaml'), dialplanText('b', ['200']));
  await loaded;
  t.equal(set.route('200')?.dialplan.id, 'b');

  const rejected = next(set, 'rejected');
  writeFileSync(path.join(dir, 'b.yaml'), dialplanText('b', ['200', '100']));
  const [file, problems] = await rejected;
  t.equal(file, path.join(dir, 'b.yaml'));
  t.match(formatDialplanProblem((problems as readonly DialplanProblem[])[0]!), /b\.yaml:3: numbers\[1\]: number 100 is already answered by .*a\.yaml/);
  t.equal(set.route('100')?.dialplan.id, 'a');

  const removed = next(set, 'removed');
  unlinkSync(path.join(dir, 'b.yaml'));
  t.same(await removed, [path.join(dir, 'b.yaml'), 'b']);
  t.equal(set.route('200'), undefined);
  t.equal(set.route('100')?.dialplan.id, 'a');
});

t.test('close() is idempotent, emits close once, stops reloading, and methods throw after it', async (t) => {
  const dir = t.testdir();
  writeFileSync(path.join(dir, 'a.yaml'), dialplanText('a', ['100']));
  const set = DialplanSet.load({ dir, lookups: realLookups, debounceMs: 20 });
  let closes = 0;
  let reloads = 0;
  set.on('close', () => closes++);
  set.on('loaded', () => reloads++);
  set.close();
  set.close();
  t.equal(closes, 1);
  t.ok(set.closed);
  writeFileSync(path.join(dir, 'a.yaml'), dialplanText('a', ['100'], 'please-hold'));
  await delay(150);
  t.equal(reloads, 0);
  t.throws(() => set.route('100'), InvalidStateError);
  t.throws(() => set.reload(), InvalidStateError);
});

t.test('a folder that cannot be read fails the load with a coded error naming it', async (t) => {
  const dir = path.join(t.testdir(), 'missing');
  const err = loadError(dir);
  t.match(err.problems, [{ file: dir, reason: /cannot read: ENOENT/ }]);
});
