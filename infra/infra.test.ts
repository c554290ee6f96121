import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

const root = join(import.meta.dirname, '..');
const services = ['ai-manager', 'flow-manager', 'pipeline-manager'];

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
  [key: string]: unknown;
}

function loadManifests(): Map<string, Manifest[]> {
  const directory = join(root, 'infra', 'k8s');
  const byFile = new Map<string, Manifest[]>();
  for (const file of readdirSync(directory).filter((name) => name.endsWith('.yaml'))) {
    const documents = parseAllDocuments(readFileSync(join(directory, file), 'utf8'));
    for (const document of documents) {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]?.message}`);
    }
    byFile.set(
      file,
      documents.map((document) => document.toJS() as Manifest),
    );
  }
  return byFile;
}

function workspacePackageDirectories(): string[] {
  return ['packages', 'services'].flatMap((group) =>
    readdirSync(join(root, group))
      .filter((name) => existsSync(join(root, group, name, 'package.json')))
      .map((name) => `${group}/${name}`),
  );
}

describe('Kubernetes manifests', () => {
  const manifests = loadManifests();
  const all = [...manifests.values()].flat();
  const find = (kind: string, name: string) => all.find((item) => item.kind === kind && item.metadata.name === name);

  it('parses every manifest and gives each an apiVersion, kind and name', () => {
    expect(all.length).toBeGreaterThan(5);
    for (const manifest of all.filter((item) => item.kind !== 'Kustomization')) {
      expect(manifest.apiVersion, JSON.stringify(manifest.metadata)).toBeTruthy();
      expect(manifest.kind).toBeTruthy();
      expect(manifest.metadata.name).toBeTruthy();
    }
  });

  it.each(services)('runs %s as a Deployment with probes and a Service selecting it', (service) => {
    const deployment = find('Deployment', service) as unknown as {
      spec: { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: { containers: { args: string[]; readinessProbe: { httpGet: { path: string } }; livenessProbe: { httpGet: { path: string } }; envFrom: { configMapRef?: { name: string }; secretRef?: { name: string } }[] }[] } } };
    };
    expect(deployment).toBeDefined();
    const container = deployment.spec.template.spec.containers[0]!;
    expect(existsSync(join(root, container.args[0]!))).toBe(true);
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(deployment.spec.template.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
    const configMaps = container.envFrom.flatMap((source) => (source.configMapRef ? [source.configMapRef.name] : []));
    for (const name of configMaps) expect(find('ConfigMap', name), name).toBeDefined();
    const serviceManifest = find('Service', service) as unknown as { spec: { selector: Record<string, string> } };
    expect(serviceManifest).toBeDefined();
    expect(deployment.spec.template.metadata.labels).toMatchObject(serviceManifest.spec.selector);
  });

  it('autoscales pipeline-manager', () => {
    const autoscaler = find('HorizontalPodAutoscaler', 'pipeline-manager') as unknown as {
      spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number; maxReplicas: number };
    };
    expect(autoscaler.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'pipeline-manager' });
    expect(autoscaler.spec.maxReplicas).toBeGreaterThan(autoscaler.spec.minReplicas);
  });

  it('lists every manifest except the secret example in the kustomization', () => {
    const kustomization = manifests.get('kustomization.yaml')![0] as unknown as { resources: string[] };
    const expected = [...manifests.keys()].filter((file) => !['kustomization.yaml', 'secret.example.yaml'].includes(file));
    expect([...kustomization.resources].sort()).toEqual(expected.sort());
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { command?: string[]; build?: { dockerfile: string }; depends_on?: Record<string, unknown> }>;
  };

  it('runs PostgreSQL, RabbitMQ and the three services from the one image', () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['postgres', 'rabbitmq', ...services]));
    for (const service of services) {
      const definition = compose.services[service]!;
      expect(definition.build?.dockerfile).toBe('infra/Dockerfile');
      expect(existsSync(join(root, definition.command![0]!))).toBe(true);
      expect(Object.keys(definition.depends_on ?? {})).toEqual(['postgres', 'rabbitmq']);
    }
  });
});

describe('infra/Dockerfile', () => {
  const dockerfile = readFileSync(join(root, 'infra', 'Dockerfile'), 'utf8');

  it('copies the package.json of every workspace package before installing', () => {
    for (const directory of workspacePackageDirectories()) {
      expect(dockerfile, directory).toContain(`COPY ${directory}/package.json ${directory}/`);
    }
  });

  it('installs production dependencies only and runs as a non-root user', () => {
    expect(dockerfile).toContain('pnpm install --frozen-lockfile --prod');
    expect(dockerfile).toMatch(/^USER node$/m);
  });
});
