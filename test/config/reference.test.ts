import t from 'tap';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { configSchema, renderConfigReference, type SchemaNode } from '../../src/config/index';

t.test('the configuration table in README.md is the one rendered from the schema', async (t) => {
  const readme = readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');
  const section = /<!-- config-reference:start -->\n([\s\S]*?)\n<!-- config-reference:end -->/.exec(readme);
  t.ok(section, 'README.md has the config-reference markers');
  t.equal(section?.[1], renderConfigReference(), 'regenerate the table with renderConfigReference() after a schema change');
});

t.test('the reference lists every key of the schema', async (t) => {
  const keys: string[] = [];
  const walk = (node: SchemaNode, name: string): void => {
    if (node.type === 'object') for (const [k, child] of Object.entries(node.fields)) walk(child, name ? `${name}.${k}` : k);
    else {
      keys.push(name);
      // A list of mappings documents its entries' fields; a list of scalars is described in its own row.
      if (node.type === 'array' && node.items.type === 'object') walk(node.items, `${name}[]`);
    }
  };
  walk(configSchema, '');
  const table = renderConfigReference();
  for (const key of keys) t.match(table, `| \`${key}\` |`, key);
});
