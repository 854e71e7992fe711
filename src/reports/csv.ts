/**
 * Report rows as CSV (RFC 4180): nested objects become dotted columns (abandonedWithin.20s), lists one cell
 * ("billing: 3; refund: 1" for objects, "a; b" for values); the columns are every row's, in first-seen order.
 */
export function toCsv(rows: readonly Record<string, unknown>[]): string {
  const flat = rows.map((row) => flatten(row));
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const row of flat) for (const column of row.keys()) if (!seen.has(column)) seen.add(column), columns.push(column);
  const lines = [columns.map(cell).join(','), ...flat.map((row) => columns.map((c) => cell(row.get(c) ?? '')).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}

function flatten(value: Record<string, unknown>, prefix = '', into = new Map<string, string>()): Map<string, string> {
  for (const [key, v] of Object.entries(value)) {
    const column = prefix === '' ? key : `${prefix}.${key}`;
    if (Array.isArray(v)) into.set(column, v.map((item) => (typeof item === 'object' && item !== null ? Object.values(item as object).join(': ') : String(item))).join('; '));
    else if (typeof v === 'object' && v !== null) flatten(v as Record<string, unknown>, column, into);
    else into.set(column, v === null || v === undefined ? '' : String(v));
  }
  return into;
}

function cell(value: string): string {
  // A customer's comment starting like a formula must stay text in a spreadsheet (CSV injection).
  const text = /^[=+\-@\t\r]/.test(value) && Number.isNaN(Number(value)) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
