/**
 * What the deployments (infra/k8s, docker-compose.yml) give each container as environment,
 * and what each program actually reads, for infra/infra.test.ts: a variable the code does not
 * read is a deployment bug (a misspelt or stale name silently leaves the default in force).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../packages/shared/src/index.ts';
import { aiManagerEnvironmentSchema, aiManagerOptionsFromSettings } from '../services/ai-manager/src/config.ts';
import { flowManagerEnvironmentSchema } from '../services/flow-manager/src/config.ts';
import { pipelineManagerEnvironmentSchema } from '../services/pipeline-manager/src/config.ts';

export const root = join(import.meta.dirname, '..');
const renderScript = join(root, 'infra', 'asterisk', 'render-config.sh');

export type NodeService = 'ai-manager' | 'flow-manager' | 'pipeline-manager';
export type Program = NodeService | 'asterisk';

/** Each service's environment schema, as its main.ts loads it. */
const environmentSchemas = {
  'ai-manager': aiManagerEnvironmentSchema,
  'flow-manager': flowManagerEnvironmentSchema,
  'pipeline-manager': pipelineManagerEnvironmentSchema,
};

/**
 * A service's settings from `values` as its main.ts reads them (loadConfig: empty counts as
 * unset; ai-manager's cross-checks of the messaging settings); throws a ConfigError.
 */
export function loadServiceConfiguration(service: NodeService, values: Record<string, string>): Record<string, unknown> {
  if (service === 'ai-manager') {
    const settings = loadConfig(service, aiManagerEnvironmentSchema, values);
    aiManagerOptionsFromSettings(settings);
    return settings;
  }
  return loadConfig(service, environmentSchemas[service], values);
}

/**
 * Variables a deployment must set although the program starts without them: it would start
 * but could not do its job there (no admin API, no telephony, `talk` audio and RTP sent to
 * 127.0.0.1).
 */
export const deploymentRequired: Record<Program, string[]> = {
  'ai-manager': ['ADMIN_TOKEN'],
  'flow-manager': ['ARI_URL', 'ARI_USER', 'ARI_PASSWORD', 'MEDIA_BASE_URL'],
  'pipeline-manager': ['RTP_ADDRESS'],
  asterisk: ['ARI_USER', 'ARI_PASSWORD'],
};

/** The defaults render-config.sh gives its variables (`NAME="${NAME:-default}"`): the variables it reads. */
export function renderScriptDefaults(): Record<string, string> {
  const text = readFileSync(renderScript, 'utf8');
  return Object.fromEntries([...text.matchAll(/^([A-Z][A-Z0-9_]*)="\$\{\1:-([^}]*)\}"$/gm)].map((match) => [match[1]!, match[2]!]));
}

/** Names read as `process.env.NAME` in the non-test sources under `directory`. */
function processEnvironmentReads(directory: string): string[] {
  const names: string[] = [];
  for (const entry of readdirSync(directory)) {
    const path = join(directory, entry);
    if (statSync(path).isDirectory()) {
      if (entry !== 'node_modules' && entry !== 'testing') names.push(...processEnvironmentReads(path));
    } else if (entry.endsWith('.ts') && !entry.endsWith('.test.ts')) {
      const text = readFileSync(path, 'utf8');
      for (const match of text.matchAll(/process\.env(?:\.([A-Z][A-Z0-9_]*)|\[['"]([A-Z][A-Z0-9_]*)['"]\])/g)) names.push((match[1] ?? match[2])!);
    }
  }
  return names;
}

/** Every variable a program reads: its schema's fields and direct reads in its own and the shared code. */
/** Variables a library reads on a program's behalf: the S3 client's default credentials (recordings). */
const readByLibraries: Partial<Record<Program, string[]>> = {
  'flow-manager': ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'],
};

export function variablesReadBy(program: Program): Set<string> {
  if (program === 'asterisk') return new Set(Object.keys(renderScriptDefaults()));
  return new Set([
    ...(readByLibraries[program] ?? []),
    ...Object.keys(environmentSchemas[program].shape),
    ...processEnvironmentReads(join(root, 'packages', 'shared', 'src')),
    ...processEnvironmentReads(join(root, 'services', program, 'src')),
  ]);
}

/** A container's environment as a deployment sets it: values, where each came from, names used only in `$(NAME)`. */
export interface ContainerEnvironment {
  values: Record<string, string>;
  sources: Record<string, string>;
  /** Variables other values refer to as `$(NAME)` (Kubernetes expands them). */
  referenced: Set<string>;
}

/** The parts of a Kubernetes container spec that set its environment. */
export interface KubernetesContainer {
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
}

/** What the downward API gives a pod, as sample values. */
export const podFields: Record<string, string> = { 'status.podIP': '10.244.3.17', 'metadata.name': 'pod-7d9c5-x2k4q' };

/**
 * A container's environment as Kubernetes builds it: `envFrom` first, `env` over it, `$(NAME)`
 * expanded from what is defined before. ConfigMaps come from the manifests, Secrets from their
 * documented example (secret.example.yaml); a reference to one that is not there throws.
 */
export function kubernetesEnvironment(
  container: KubernetesContainer,
  configMaps: Map<string, Record<string, string>>,
  secrets: Map<string, Record<string, string>>,
): ContainerEnvironment {
  const environment: ContainerEnvironment = { values: {}, sources: {}, referenced: new Set() };
  const lookup = (kind: 'ConfigMap' | 'Secret', name: string) => {
    const data = (kind === 'ConfigMap' ? configMaps : secrets).get(name);
    if (!data) throw new Error(`${kind} ${name} is referenced but neither a manifest nor secret.example.yaml defines it`);
    return data;
  };
  const set = (name: string, value: string, source: string) => {
    environment.values[name] = value;
    environment.sources[name] = source;
  };
  for (const source of container.envFrom ?? []) {
    const [kind, name] = source.configMapRef ? (['ConfigMap', source.configMapRef.name] as const) : (['Secret', source.secretRef!.name] as const);
    for (const [key, value] of Object.entries(lookup(kind, name))) set(key, String(value), `${kind} ${name}`);
  }
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) {
      const expanded = variable.value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (reference, name: string) => {
        environment.referenced.add(name);
        return environment.values[name] ?? reference;
      });
      set(variable.name, expanded, 'env');
      continue;
    }
    const from = variable.valueFrom ?? {};
    if (from.fieldRef) set(variable.name, podFields[from.fieldRef.fieldPath] ?? '', `field ${from.fieldRef.fieldPath}`);
    else if (from.secretKeyRef) set(variable.name, lookup('Secret', from.secretKeyRef.name)[from.secretKeyRef.key] ?? '', `Secret ${from.secretKeyRef.name}`);
    else if (from.configMapKeyRef) set(variable.name, lookup('ConfigMap', from.configMapKeyRef.name)[from.configMapKeyRef.key] ?? '', `ConfigMap ${from.configMapKeyRef.name}`);
  }
  return environment;
}

/**
 * Checks a program's environment the way the program does: the service's zod schema, or for
 * Asterisk render-config.sh itself (into a scratch folder). Answers the problems, none = accepted.
 */
export function configurationProblems(program: Program, values: Record<string, string>): string[] {
  const problems = deploymentRequired[program].filter((name) => !values[name]).map((name) => `${name} is not set`);
  if (program !== 'asterisk') {
    try {
      loadServiceConfiguration(program, values);
    } catch (error) {
      if (!(error instanceof Error && 'problems' in error)) throw error;
      problems.push(...(error.problems as string[]));
    }
    return problems;
  }
  // Under /tmp, not the OS temp folder: the script refuses directories with a dot in them.
  const scratch = mkdtempSync('/tmp/avp-deployment-');
  try {
    const environment = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...values, ASTERISK_ETC_DIR: `${scratch}/etc`, ASTERISK_STATE_DIR: `${scratch}/state` };
    const result = spawnSync('sh', [renderScript], { env: environment, encoding: 'utf8' });
    if (result.status !== 0) problems.push(`render-config.sh: ${result.stderr.trim()}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return problems;
}

/** `${NAME}`, `${NAME:-default}` and `${NAME:?message}` as docker-compose interpolates them from `given`. */
export function interpolateCompose(value: string, given: Record<string, string>): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (_, name: string, operator: string | undefined, argument: string) => {
    const set = given[name];
    if (operator === ':-') return set || argument;
    if (operator === '-') return set ?? argument;
    if (operator === ':?' || operator === '?') {
      if (!set) throw new Error(`docker-compose stops: ${name} is required (${argument})`);
      return set;
    }
    return set ?? '';
  });
}
