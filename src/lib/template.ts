/*
 * {{name}} templates (notification messages, de-duplication keys): names are letters, digits, _ . and -.
 */
const VARIABLE = /\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}/g;

export function templateVariables(text: string): string[] {
  return [...text.matchAll(VARIABLE)].map((m) => m[1]!);
}

/** `text` with each variable replaced by its value ('' for one without). */
export function renderTemplate(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(VARIABLE, (_, name: string) => values[name] ?? '');
}
