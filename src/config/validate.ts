import {
  configSchema,
  crossKeyIssues,
  stringFormats,
  type ConfigIssue,
  type ConfigPath,
  type OneccConfig,
  type SchemaNode,
} from './schema';

/** Checks a merged configuration against the schema; returns every issue found (empty when valid). */
export function validateConfig(value: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  checkNode(configSchema, value, [], issues);
  // Cross-key rules read typed values, so they only make sense once every key has its declared shape.
  return issues.length > 0 ? issues : crossKeyIssues(value as OneccConfig);
}

function checkNode(node: SchemaNode, value: unknown, path: ConfigPath, issues: ConfigIssue[]): void {
  const fail = (expected: string) => issues.push({ path, reason: `must be ${expected} (got ${describe(value)})` });
  if (value === null && node.nullable) return;
  switch (node.type) {
    case 'integer': {
      const range = node.max === undefined ? `>= ${node.min}` : `from ${node.min} to ${node.max}`;
      if (!Number.isInteger(value) || (value as number) < node.min || (value as number) > (node.max ?? Infinity)) {
        fail(`an integer ${range}`);
      }
      return;
    }
    case 'enum':
      if (!node.values.includes(value as string)) fail(`one of ${node.values.join('|')}`);
      return;
    case 'string': {
      const format = stringFormats[node.format];
      if (typeof value !== 'string' || !format.test(value)) fail(format.expect);
      return;
    }
    case 'boolean':
      if (typeof value !== 'boolean') fail('true or false');
      return;
    case 'array':
      if (!Array.isArray(value)) return void fail('a list');
      if (value.length < node.minItems) {
        return void issues.push({ path, reason: `must have at least ${node.minItems} ${node.minItems === 1 ? 'entry' : 'entries'}` });
      }
      value.forEach((item, i) => checkNode(node.items, item, [...path, i], issues));
      return;
    case 'record':
      if (!isMapping(value)) return void fail('a mapping');
      for (const [key, item] of Object.entries(value)) {
        if (!stringFormats.token.test(key)) issues.push({ path: [...path, key], reason: `must be named by ${stringFormats.token.expect}` });
        else checkNode(node.values, item, [...path, key], issues);
      }
      return;
    case 'object': {
      if (!isMapping(value)) return void fail('a mapping');
      const known = Object.keys(node.fields);
      for (const key of Object.keys(value)) {
        if (!Object.hasOwn(node.fields, key)) {
          issues.push({ path: [...path, key], reason: `unknown key (expected one of: ${known.join(', ')})` });
        }
      }
      for (const key of known) {
        const child = node.fields[key]!;
        if (!Object.hasOwn(value, key)) issues.push({ path: [...path, key], reason: 'is required' });
        else checkNode(child, value[key], [...path, key], issues);
      }
      return;
    }
  }
}

export function isMapping(value: unknown): value is Record<string, unknown> {
  return Object.prototype.toString.call(value) === '[object Object]';
}

/** Short rendering of a bad value for an error message. */
function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (isMapping(value)) return 'a mapping';
  const text = value === undefined ? 'nothing' : JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** `sip.listen[1].port` */
export function formatPath(path: ConfigPath): string {
  return path.map((seg, i) => (typeof seg === 'number' ? `[${seg}]` : i === 0 ? seg : `.${seg}`)).join('');
}
