import { stringify } from 'yaml';
import { loadConfig } from './load-config';
import { configSchema, type SchemaNode } from './schema';

const formatLabels = { ip: 'IP literal', host: 'host name or IP', path: 'file path', token: 'token', text: 'string', cidr: 'IP or CIDR', 'dial-template': 'SIP URI template' } as const;

/**
 * The configuration reference as a Markdown table (key, type, default, meaning), rendered from the schema and
 * config/default.yaml. README.md embeds it, and a test keeps the two identical.
 */
export function renderConfigReference(): string {
  const defaults = loadConfig({ env: {} });
  const rows = ['| Key | Type | Default | Meaning |', '| --- | --- | --- | --- |'];
  const walk = (node: SchemaNode, display: string, value: unknown): void => {
    if (node.type === 'object') {
      for (const [key, child] of Object.entries(node.fields)) {
        const childValue = value === undefined ? undefined : (value as Record<string, unknown>)[key];
        walk(child, display === '' ? key : `${display}.${key}`, childValue);
      }
      return;
    }
    rows.push(`| \`${display}\` | ${typeName(node)} | ${value === undefined ? '—' : `\`${flow(value)}\``} | ${node.description} |`);
    // List entries have no defaults of their own; their fields are documented as `list[].field`.
    if (node.type === 'array' && node.items.type === 'object') walk(node.items, `${display}[]`, undefined);
  };
  walk(configSchema, '', defaults);
  return rows.join('\n');
}

function typeName(node: SchemaNode): string {
  const base = ((): string => {
    switch (node.type) {
      case 'integer':
        return node.max === undefined ? `integer ≥ ${node.min}` : `integer ${node.min}–${node.max}`;
      case 'enum':
        return `one of ${node.values.join(', ')}`;
      case 'string':
        return formatLabels[node.format];
      case 'boolean':
        return 'boolean';
      case 'array':
        return `list${node.minItems > 0 ? ` (≥ ${node.minItems})` : ''} of ${node.items.type === 'object' ? 'mappings' : typeName(node.items)}`;
      case 'record':
        return `mapping of name → ${typeName(node.values)}`;
      case 'object':
        return 'mapping';
    }
  })();
  return node.nullable ? `${base} or null` : base;
}

function flow(value: unknown): string {
  return stringify(value, { collectionStyle: 'flow', lineWidth: 0 }).trim();
}
