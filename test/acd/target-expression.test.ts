import t from 'tap';
import { parseTargetExpression, TargetExpressionError } from '../../src/acd/index';

const vocabulary = { skills: new Set(['billing', 'sales']), languages: new Set(['en', 'zh-TW']) };
const agent = (skills: Record<string, number>, languages: string[] = ['en']) => ({ skills, languages });

t.test('a target expression compares skill levels and languages with and, or, not and parentheses', async (t) => {
  const e = parseTargetExpression('billing >= 5 and lang:zh-TW', vocabulary);
  t.ok(e.matches(agent({ billing: 5 }, ['zh-TW'])));
  t.notOk(e.matches(agent({ billing: 4 }, ['zh-TW'])));
  t.notOk(e.matches(agent({ billing: 9 }, ['en'])));
  const f = parseTargetExpression('(sales or billing > 7) and not lang:en', vocabulary);
  t.ok(f.matches(agent({ sales: 1 }, ['zh-TW'])));
  t.notOk(f.matches(agent({ sales: 1 }, ['en', 'zh-TW'])));
  t.ok(f.matches(agent({ billing: 8 }, [])));
  t.same(f.skills, ['sales', 'billing']);
  t.ok(parseTargetExpression('any').matches(agent({})));
  t.ok(parseTargetExpression('billing == 0').matches(agent({})), 'a skill the agent lacks has level 0');
});

t.test('a malformed expression fails with the reason and its 1-based position', async (t) => {
  const cases: [string, string][] = [
    ['billing >= ', 'expected a level 0-10 after ">=", got end of expression at position 12'],
    ['billing >= 11', 'level 11 is above 10 at position 12'],
    ['billing => 5', 'unknown operator "=>"'],
    ['(billing', 'expected ")" to close the "(" at position 1, got end of expression at position 9'],
    ['billing and', 'expected a skill, lang:TAG, "any", "not" or "(", got end of expression at position 12'],
    ['billing sales', 'expected "and", "or" or end of expression, got "sales" at position 9'],
    ['billing & sales', 'unexpected character "&" at position 9'],
    ['lang:', 'expected a language tag after "lang:" at position 6'],
  ];
  for (const [source, reason] of cases) {
    const err = t.throws(() => parseTargetExpression(source, vocabulary)) as unknown as TargetExpressionError;
    t.type(err, TargetExpressionError, source);
    t.match(err.message, reason, source);
    t.equal(err.code, 'ACD_INVALID_EXPRESSION');
  }
});

t.test('unknown skills and languages are errors when a vocabulary is given', async (t) => {
  t.throws(() => parseTargetExpression('biling >= 5', vocabulary), { message: /unknown skill "biling" at position 1/ });
  t.throws(() => parseTargetExpression('billing and lang:fr', vocabulary), { message: /unknown language "fr" at position 13/ });
});
