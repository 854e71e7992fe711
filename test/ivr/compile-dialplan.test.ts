import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { compileDialplan, formatDialplanProblem, type DialplanLookups, type MenuNode, type QueueNode } from '../../src/ivr/dialplan/index';
import { realLookups } from './lookups';

const FILE = 'dialplans/t.yaml';

// Line numbers matter below: each error test names the line its edit lands on.
const BASE = `id: t
language: en
start: hello
onError: bye
nodes:
  hello:
    type: play
    prompt: welcome
    next: menu
  menu:
    type: menu
    prompt: main-menu
    choices: { 1: wait }
  wait:
    type: queue
    queue: billing
  bye:
    type: hangup
    prompt: goodbye
`;

function compile(text: string, lookups: DialplanLookups = realLookups) {
  return compileDialplan(text, FILE, lookups);
}

/** Every problem as `file:line: path: reason`. */
function problems(text: string, lookups?: DialplanLookups): string[] {
  return compile(text, lookups).problems.map(formatDialplanProblem);
}

function edit(from: string, to: string): string {
  if (!BASE.includes(from)) throw new Error(`BASE has no ${JSON.stringify(from)}`);
  return BASE.replace(from, to);
}

t.test('the shipped sample dialplan validates against the prompt catalog and the configured queues, without warnings', async (t) => {
  const file = path.resolve(__dirname, '../../dialplans/sample.yaml');
  const result = compileDialplan(readFileSync(file, 'utf8'), 'dialplans/sample.yaml', realLookups);
  t.same(result.problems.map(formatDialplanProblem), []);
  const sample = result.dialplan!;
  t.equal(sample.id, 'sample');
  t.same(sample.languages, ['en', 'zh-TW', 'zh-CN']);
  t.same(sample.numbers.find((n) => n.number === '+886212345678'), { number: '+886212345678', language: 'zh-TW' });
  t.equal(sample.nodes[sample.onError]!.type, 'hangup');
  const menu = sample.nodes['main-menu'] as MenuNode;
  t.same(Object.keys(menu.choices).sort(), ['0', '1', '2', '3', '9']);
  const queues = Object.values(sample.nodes).filter((n): n is QueueNode => n.type === 'queue');
  t.ok(queues.length > 0 && queues.every((q) => q.announce !== null && q.callback !== null && q.afterAgent === 'survey'));
});

t.test('the base dialplan of these tests is valid, and the nodes carry their lines', async (t) => {
  const result = compile(BASE);
  t.same(result.problems, []);
  t.equal(result.dialplan!.nodes['menu']!.line, 10);
});

t.test('each class of error names file, line and reason', async (t) => {
  const cases: [string, string, string][] = [
    ['unknown node type', edit('type: play', 'type: say'), `${FILE}:7: nodes.hello.type: unknown node type "say"`],
    ['missing target', edit('next: menu', 'next: menuu'), `${FILE}:9: nodes.hello.next: no node "menuu" in this dialplan`],
    ['missing onError', edit('onError: bye\n', ''), `${FILE}:1: "onError" is required`],
    ['onError of the wrong type', edit('onError: bye', 'onError: hello'), `${FILE}:4: onError: must be a queue or hangup node`],
    ['unknown prompt', edit('prompt: welcome', 'prompt: welcom'), `${FILE}:8: nodes.hello.prompt: unknown prompt "welcom"`],
    ['unknown queue', edit('queue: billing', 'queue: nosuch'), `${FILE}:16: nodes.wait.queue: unknown queue "nosuch"`],
    ['bad DTMF key', edit('{ 1: wait }', '{ 1: wait, A: wait }'), `${FILE}:13: nodes.menu.choices.A: must be one DTMF key`],
    ['YAML syntax error', edit('    prompt: welcome', '    prompt: [welcome'), `${FILE}:9: YAML syntax error`],
    ['duplicate node id', `${BASE}  bye:\n    type: hangup\n`, `${FILE}:20: YAML syntax error: Map keys must be unique`],
    ['unknown key', edit('    queue: billing', '    queue: billing\n    maxWiat: 30'), `${FILE}:17: nodes.wait.maxWiat: unknown key "maxWiat"`],
    ['unknown start', edit('start: hello', 'start: hi'), `${FILE}:3: start: no node "hi" in this dialplan`],
    ['unknown language', edit('language: en', 'language: fr'), `${FILE}:2: language: "fr" is not a configured prompt language`],
  ];
  for (const [what, text, expected] of cases) {
    const found = problems(text);
    t.ok(found.some((p) => p.startsWith(expected)), what, { found, expected });
  }
});

t.test('all problems of a file come at once, in line order', async (t) => {
  const text = edit('prompt: welcome', 'prompt: welcom').replace('queue: billing', 'queue: nosuch').replace('next: menu', 'next: menuu');
  t.same(problems(text).map((p) => p.split(':')[1]), ['8', '9', '16']);
});

t.test('a loop must pass a node that waits for the caller', async (t) => {
  const spinning = edit('next: menu', 'next: again') + '  again:\n    type: play\n    prompt: please-hold\n    next: hello\n';
  t.match(problems(spinning), [/t\.yaml:6: nodes\.hello: nodes hello, again form a loop that passes no node waiting for the caller/]);
  const selfLoop = edit('next: menu', 'next: hello');
  t.match(problems(selfLoop), [/:6: nodes\.hello: nodes hello form a loop/]);
  const throughMenu = edit('{ 1: wait }', '{ 1: wait, 9: hello }');
  t.same(problems(throughMenu), []);
});

t.test('an unreachable node is a warning, and the dialplan still loads', async (t) => {
  const result = compile(`${BASE}  spare:\n    type: hangup\n`);
  t.ok(result.dialplan);
  t.same(result.problems.map(formatDialplanProblem), [`${FILE}:20: warning: nodes.spare: node "spare" cannot be reached from start or onError`]);
});

t.test('failure exits left out go to onError; given ones are kept', async (t) => {
  const menu = compile(BASE).dialplan!.nodes['menu'] as MenuNode;
  t.equal(menu.onInvalid, 'bye');
  t.equal(menu.onNoInput, 'bye');
  t.same(menu.invalidPrompt, [{ prompt: 'invalid-input' }]);
  const own = compile(edit('{ 1: wait }', '{ 1: wait }\n    onNoInput: hello')).dialplan!.nodes['menu'] as MenuNode;
  t.equal(own.onNoInput, 'hello');
});

t.test('a prompt must exist in every language the node can speak', async (t) => {
  const englishOnly: DialplanLookups = { ...realLookups, promptExists: (name, language) => name !== 'welcome' || language === 'en' };
  const bilingual = edit('language: en', 'language: en\nlanguages: [en, zh-TW]');
  t.match(problems(bilingual, englishOnly), [/:9: nodes\.hello\.prompt: prompt "welcome" does not exist in zh-TW/]);
  const fixedToEnglish = bilingual.replace('    prompt: welcome', '    prompt: welcome\n    language: en');
  t.same(problems(fixedToEnglish, englishOnly), []);
  const text = bilingual.replace('    prompt: welcome', '    prompt: { text: { en: Hello } }');
  t.match(problems(text), [/:9: nodes\.hello\.prompt\.text: text is missing for zh-TW/]);
});

t.test('numbers, calendars and conditions are checked', async (t) => {
  const text = `${BASE.replace('language: en', 'language: en\nnumbers: ["+886", "+886", 12a]\ntimezone: Mars/Olympus\ncalendars:\n  office: { hours: { mon-fry: 09:00-18:00, sat: 10:00-25:00 }, holidays: [2026-02-30] }')}  check:\n    type: branch\n    cases:\n      - { when: { hours: shop, is: open }, next: bye }\n      - { when: { var: caller, matches: "(" }, next: bye }\n    otherwise: bye\n`;
  const found = problems(text);
  for (const expected of [
    /:3: numbers\[1\]: number \+886 is already listed at numbers\[0\]/,
    /:3: numbers\[2\]\.number: must be digits/,
    /:4: timezone: unknown time zone "Mars\/Olympus"/,
    /:6: calendars\.office\.hours\.mon-fry: "mon-fry" is not a day/,
    /:6: calendars\.office\.hours\.sat: must be a time range/,
    /:6: calendars\.office\.holidays\[0\]: must be a date/,
    /:\d+: nodes\.check\.cases\[0\]\.when\.hours: unknown calendar "shop"/,
    /:\d+: nodes\.check\.cases\[1\]\.when\.matches: not a regular expression/,
  ]) {
    t.ok(found.some((p) => expected.test(p)), String(expected), { found });
  }
});

t.test('variables the call sets cannot be assigned, and ${} references must name variables', async (t) => {
  const text = `${BASE}  s:\n    type: set\n    variables: { caller: x, greeting: "hi \${first name}" }\n    next: bye\n`;
  const found = problems(text);
  t.ok(found.some((p) => /nodes\.s\.variables\.caller: "caller" is set by the call/.test(p)), 'caller', { found });
  t.ok(found.some((p) => /nodes\.s\.variables\.greeting: \$\{first name\} does not name a variable/.test(p)), 'template', { found });
});

t.test('a compiled dialplan is deeply frozen', async (t) => {
  const dialplan = compile(BASE).dialplan!;
  t.ok(Object.isFrozen(dialplan));
  t.ok(Object.isFrozen(dialplan.nodes));
  t.ok(Object.isFrozen((dialplan.nodes['menu'] as MenuNode).choices));
  t.throws(() => {
    (dialplan.nodes as Record<string, unknown>)['menu'] = null;
  }, TypeError);
});

t.test('every complete dialplan shown in dialplans/README.md validates', async (t) => {
  const readme = readFileSync(path.resolve(__dirname, '../../dialplans/README.md'), 'utf8');
  const examples = [...readme.matchAll(/```yaml\n(id: [\s\S]*?)```/g)].map((m) => m[1]!);
  t.ok(examples.length > 0, 'the README shows a complete dialplan');
  for (const example of examples) t.same(problems(example), [], example.split('\n')[0]);
});
