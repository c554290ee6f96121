/**
 * Splits a validation answer's problems by field: `engine_model: must be ...` goes to
 * `engine_model`, `parameter.notes.0: ...` to `parameter`; problems naming no known field go
 * to `''` (shown for the whole form).
 */
export function problemsByField(problems: readonly string[], fields: readonly string[]): Map<string, string[]> {
  const byField = new Map<string, string[]>();
  for (const problem of problems) {
    const separator = problem.indexOf(':');
    const path = separator > 0 ? problem.slice(0, separator).trim() : '';
    const field = fields.find((name) => path === name || path.startsWith(`${name}.`) || path.startsWith(`${name}[`)) ?? '';
    const text = field ? problem.slice(separator + 1).trim() : problem;
    byField.set(field, [...(byField.get(field) ?? []), text]);
  }
  return byField;
}
