// docs/agent-protocol.md shows the command schemas the feed validates with: regenerated from protocol.ts, never
// edited by hand. Each schema also accepts its own documented minimal command and rejects a missing field.
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { commandSchemas, renderCommandSchemas, validate } from '../../src/agents/protocol';

t.test('the schemas in docs/agent-protocol.md are the ones the feed validates with', async (t) => {
  const doc = readFileSync(path.join(__dirname, '../../docs/agent-protocol.md'), 'utf8');
  const between = /<!-- command-schemas:start -->\n([\s\S]*)\n<!-- command-schemas:end -->/.exec(doc)?.[1];
  t.ok(between !== undefined, 'the doc has the schema markers');
  t.equal(between, renderCommandSchemas(), 'regenerate the section with renderCommandSchemas() after a protocol change');
});

t.test('every schema is a closed object requiring v and type', async (t) => {
  for (const [type, schema] of Object.entries(commandSchemas)) {
    if (schema.type !== 'object') return void t.fail(`${type} is not an object schema`);
    t.same(schema.required?.slice(0, 2), ['v', 'type'], `${type} requires v and type`);
    t.equal(validate(schema, { v: 1, type, surprise: true }), 'surprise: unknown field', `${type} refuses unknown fields`);
    t.not(validate(schema, { v: 1, type: 'other' }), undefined, `${type} is only itself`);
  }
});
