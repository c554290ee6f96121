import { appError } from '@avp/shared';

/** Limits of one activeflow's variables. */
export const variableLimits = {
  maxCount: 500,
  maxKeyLength: 128,
  maxValueLength: 10_000,
} as const;

const placeholder = /\$\{(.*?)\}/g;

/** Replaces `${name}` with the variable's value; an unknown name becomes the empty string. */
export function substitute(text: string, variables: Readonly<Record<string, string>>): string {
  return text.replace(placeholder, (_, name: string) => variables[name.trim()] ?? '');
}

/** Substitutes every string inside an action option (objects and arrays included). */
export function substituteDeep<T>(value: T, variables: Readonly<Record<string, string>>): T {
  if (typeof value === 'string') return substitute(value, variables) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => substituteDeep(item, variables)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substituteDeep(item, variables)])) as T;
  }
  return value;
}

/**
 * Returns the variables with `updates` applied (each value substituted against the current
 * variables first), or throws a 400 INVALID_ARGUMENT naming the limit that was exceeded.
 */
export function setVariables(
  variables: Readonly<Record<string, string>>,
  updates: Readonly<Record<string, string>>,
): Record<string, string> {
  const next = { ...variables };
  for (const [key, raw] of Object.entries(updates)) {
    if (key.length === 0 || key.length > variableLimits.maxKeyLength) {
      throw appError('VALIDATION_FAILED', `Variable names must have 1 to ${variableLimits.maxKeyLength} characters: ${key.slice(0, 40)}`);
    }
    const value = substitute(raw, variables);
    if (value.length > variableLimits.maxValueLength) {
      throw appError('VALIDATION_FAILED', `The value of ${key} is longer than ${variableLimits.maxValueLength} characters.`);
    }
    next[key] = value;
  }
  if (Object.keys(next).length > variableLimits.maxCount) {
    throw appError('VALIDATION_FAILED', `An activeflow holds at most ${variableLimits.maxCount} variables.`);
  }
  return next;
}
