import { z } from 'zod';

/** Thrown when the environment does not satisfy a service's config schema. */
export class ConfigError extends Error {
  /** One entry per bad variable: `NAME: what is wrong`. */
  readonly problems: string[];

  constructor(service: string, problems: string[]) {
    super(`${service}: invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Environment = Record<string, string | undefined>;

/**
 * Validates the environment against a zod object schema whose keys are variable names.
 * Empty strings count as unset, so `FOO=` falls back to the default like an absent FOO.
 * Throws a ConfigError naming every bad variable, not just the first.
 */
export function loadConfig<Schema extends z.ZodObject>(
  service: string,
  schema: Schema,
  environment: Environment = process.env,
): z.infer<Schema> {
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = environment[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.length > 0 ? issue.path.join('.') : '(environment)';
    const given = typeof issue.path[0] === 'string' ? input[issue.path[0]] : undefined;
    const shown = given === undefined ? 'unset' : `got ${JSON.stringify(redact(name, given))}`;
    return `${name}: ${issue.message} (${shown})`;
  });
  throw new ConfigError(service, problems);
}

/**
 * Like loadConfig, but on failure prints the problems to stderr and exits with status 78
 * (EX_CONFIG), so a misconfigured service stops at boot with a message that names each
 * bad variable instead of failing later.
 */
export function loadConfigOrExit<Schema extends z.ZodObject>(
  service: string,
  schema: Schema,
  environment: Environment = process.env,
): z.infer<Schema> {
  try {
    return loadConfig(service, schema, environment);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
}

const secretPattern = /(KEY|TOKEN|SECRET|PASSWORD)/i;

/** Hides secrets in a bad value shown to the operator: whole values of secret-named variables, passwords in URLs. */
function redact(name: string, value: string): string {
  if (secretPattern.test(name)) return '<redacted>';
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#:@]*):[^/?#@]*@/i, '$1:<redacted>@');
}

/** Reusable field schemas for environment variables. */
export const env = {
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  boolean: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .default(fallback ? 'true' : 'false')
      .transform((value) => value === 'true' || value === '1' || value === 'yes'),
  url: () => z.url(),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
};
