import { TargetExpressionError } from './errors';

/*
 * A queue's target: which agents may take its tasks.
 *
 *   expr    := term ('or' term)*
 *   term    := factor ('and' factor)*
 *   factor  := 'not' factor | '(' expr ')' | 'lang:' TAG | SKILL [op LEVEL] | 'any'
 *   op      := '>=' | '>' | '<=' | '<' | '==' | '!='
 *
 * `billing >= 5 and lang:zh-TW`, `(sales or retention >= 3) and not lang:en`. A bare skill means level >= 1; a skill
 * the agent lacks has level 0. `any` matches every logged-in agent.
 */

export interface SkilledAgent {
  readonly skills: Readonly<Record<string, number>>;
  readonly languages: readonly string[];
}

export interface TargetExpression {
  readonly source: string;
  /** Skills the expression names, in order of first mention: most-skilled sums the agent's levels in these. */
  readonly skills: readonly string[];
  matches(agent: SkilledAgent): boolean;
}

export interface ExpressionVocabulary {
  readonly skills: ReadonlySet<string>;
  readonly languages: ReadonlySet<string>;
}

type Token = { kind: 'word' | 'op' | 'lparen' | 'rparen' | 'number' | 'lang' | 'end'; text: string; pos: number };
type Predicate = (agent: SkilledAgent) => boolean;

const OPS: Record<string, (a: number, b: number) => boolean> = {
  '>=': (a, b) => a >= b,
  '>': (a, b) => a > b,
  '<=': (a, b) => a <= b,
  '<': (a, b) => a < b,
  '==': (a, b) => a === b,
  '!=': (a, b) => a !== b,
};

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const fail = (pos: number, reason: string): never => {
    throw new TargetExpressionError(source, pos, reason);
  };
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (c === ' ' || c === '\t') {
      i++;
    } else if (c === '(' || c === ')') {
      tokens.push({ kind: c === '(' ? 'lparen' : 'rparen', text: c, pos: i++ });
    } else if ('<>=!'.includes(c)) {
      const two = source.slice(i, i + 2);
      const text = OPS[two] ? two : OPS[c] ? c : fail(i, `unknown operator "${two.trim() || c}" (use >=, >, <=, <, ==, !=)`);
      tokens.push({ kind: 'op', text, pos: i });
      i += text.length;
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+/.exec(source.slice(i))![0];
      tokens.push({ kind: 'number', text: m, pos: i });
      i += m.length;
    } else if (/[A-Za-z_]/.test(c)) {
      if (source.startsWith('lang:', i)) {
        const tag = /^[A-Za-z0-9-]*/.exec(source.slice(i + 5))![0];
        if (tag === '') fail(i + 5, 'expected a language tag after "lang:"');
        tokens.push({ kind: 'lang', text: tag, pos: i });
        i += 5 + tag.length;
      } else {
        const m = /^[A-Za-z_][A-Za-z0-9_.-]*/.exec(source.slice(i))![0];
        tokens.push({ kind: 'word', text: m, pos: i });
        i += m.length;
      }
    } else {
      fail(i, `unexpected character "${c}"`);
    }
  }
  tokens.push({ kind: 'end', text: '', pos: source.length });
  return tokens;
}

/**
 * Parses and compiles an expression. Throws TargetExpressionError (with the 1-based position in its message) for
 * syntax errors and, given a vocabulary, for skills or languages it does not know.
 */
export function parseTargetExpression(source: string, vocabulary?: ExpressionVocabulary): TargetExpression {
  const tokens = tokenize(source);
  const skills: string[] = [];
  let at = 0;
  const peek = () => tokens[at]!;
  const fail = (token: Token, reason: string): never => {
    throw new TargetExpressionError(source, token.pos, reason);
  };
  const describe = (token: Token) => (token.kind === 'end' ? 'end of expression' : `"${token.text}"`);
  const isKeyword = (token: Token, word: string) => token.kind === 'word' && token.text === word;

  const parseOr = (): Predicate => {
    const parts = [parseAnd()];
    while (isKeyword(peek(), 'or')) {
      at++;
      parts.push(parseAnd());
    }
    return parts.length === 1 ? parts[0]! : (agent) => parts.some((p) => p(agent));
  };
  const parseAnd = (): Predicate => {
    const parts = [parseFactor()];
    while (isKeyword(peek(), 'and')) {
      at++;
      parts.push(parseFactor());
    }
    return parts.length === 1 ? parts[0]! : (agent) => parts.every((p) => p(agent));
  };
  const parseFactor = (): Predicate => {
    const token = tokens[at++]!;
    if (isKeyword(token, 'not')) {
      const inner = parseFactor();
      return (agent) => !inner(agent);
    }
    if (token.kind === 'lparen') {
      const inner = parseOr();
      if (peek().kind !== 'rparen') fail(peek(), `expected ")" to close the "(" at position ${token.pos + 1}, got ${describe(peek())}`);
      at++;
      return inner;
    }
    if (token.kind === 'lang') {
      if (vocabulary && !vocabulary.languages.has(token.text)) fail(token, `unknown language "${token.text}"`);
      const tag = token.text;
      return (agent) => agent.languages.includes(tag);
    }
    if (isKeyword(token, 'any')) return () => true;
    if (token.kind === 'word' && !['and', 'or', 'not'].includes(token.text)) {
      const skill = token.text;
      if (vocabulary && !vocabulary.skills.has(skill)) fail(token, `unknown skill "${skill}"`);
      if (!skills.includes(skill)) skills.push(skill);
      if (peek().kind !== 'op') return (agent) => (agent.skills[skill] ?? 0) >= 1;
      const op = tokens[at++]!;
      const level = tokens[at++]!;
      if (level.kind !== 'number') fail(level, `expected a level 0-10 after "${op.text}", got ${describe(level)}`);
      const n = Number(level.text);
      if (n > 10) fail(level, `level ${n} is above 10`);
      const compare = OPS[op.text]!;
      return (agent) => compare(agent.skills[skill] ?? 0, n);
    }
    return fail(token, `expected a skill, lang:TAG, "any", "not" or "(", got ${describe(token)}`);
  };

  const predicate = parseOr();
  if (peek().kind !== 'end') fail(peek(), `expected "and", "or" or end of expression, got ${describe(peek())}`);
  return { source, skills, matches: predicate };
}
