// The repository the tests live in: where it is (REPO_ROOT, and e2e/ inside it) and the filling
// of its text templates (nginx/nginx.conf.template).

import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The e2e/ directory. */
export const E2E_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Root of the repository (the parent of e2e/). */
export const REPO_ROOT = path.resolve(E2E_ROOT, '..');

/**
 * Fills the `{{NAME}}` placeholders of a text template (nginx/nginx.conf.template). A value
 * is a string or an array of lines. A placeholder alone on its line becomes zero or more lines
 * at its indentation (an empty value removes the line); elsewhere it is replaced inline.
 * Throws when a placeholder has no value.
 */
export function renderTemplate(template, values) {
  const missing = new Set();
  const valueOf = (key) => {
    if (!Object.hasOwn(values, key)) {
      missing.add(key);
      return '';
    }
    return [].concat(values[key]).map(String).join('\n');
  };
  const lines = template.split('\n').flatMap((line) => {
    const alone = line.match(/^(\s*)\{\{(\w+)\}\}\s*$/);
    if (alone) {
      const value = valueOf(alone[2]);
      return value === '' ? [] : value.split('\n').map((l) => (l ? alone[1] + l : l));
    }
    return [line.replace(/\{\{(\w+)\}\}/g, (_, key) => valueOf(key))];
  });
  if (missing.size) throw new Error(`template placeholders without a value: ${[...missing].join(', ')}`);
  return lines.join('\n');
}
