import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import {
  configurationProblems,
  interpolateCompose,
  kubernetesEnvironment,
  loadServiceConfiguration,
  podFields,
  renderScriptDefaults,
  root,
  variablesReadBy,
  type ContainerEnvironment,
  type KubernetesContainer,
  type Program,
} from './deployment-environment.ts';

const services = ['ai-manager', 'flow-manager', 'pipeline-manager'] as const;
const programs: Program[] = [...services, 'asterisk'];

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

  it('lists every manifest except the secret example in the kustomization, and tags both images', () => {
    const kustomization = manifests.get('kustomization.yaml')![0] as unknown as { resources: string[]; images: { name: string }[] };
    const expected = [...manifests.keys()].filter((file) => !['kustomization.yaml', 'secret.example.yaml'].includes(file));
    expect([...kustomization.resources].sort()).toEqual(expected.sort());
    expect(kustomization.images.map((image) => image.name).sort()).toEqual(['ai-voice-asterisk', 'ai-voice-platform']);
  });

  it('runs one Asterisk from its own image as a non-root user, writable where render-config.sh writes, ARI behind a Service', () => {
    const deployment = find('Deployment', 'asterisk') as unknown as {
      spec: { replicas: number; strategy: { type: string }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
    };
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0]!;
    expect(deployment.spec).toMatchObject({ replicas: 1, strategy: { type: 'Recreate' } });
    expect(container.image).toBe('ai-voice-asterisk');
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true });
    expect(container.readinessProbe).toBeDefined();
    expect(container.livenessProbe).toBeDefined();
    const defaults = renderScriptDefaults();
    if (container.securityContext?.readOnlyRootFilesystem) {
      const mounted = (container.volumeMounts ?? []).map((mount) => mount.mountPath);
      expect(mounted).toEqual(expect.arrayContaining([defaults.ASTERISK_ETC_DIR, defaults.ASTERISK_STATE_DIR]));
    }
    const ari = container.ports.find((port) => port.name === 'ari')!;
    expect(ari.containerPort).toBe(Number(environmentOf('asterisk').values.ARI_PORT ?? defaults.ARI_PORT));
    const service = find('Service', 'asterisk') as unknown as { spec: { selector: Record<string, string>; ports: { port: number; targetPort: string }[] } };
    expect(deployment.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    expect(service.spec.ports).toContainEqual(expect.objectContaining({ targetPort: 'ari' }));
  });

  it('runs flow-manager once: Asterisk serves a Stasis app over one events socket at a time', () => {
    const deployment = find('Deployment', 'flow-manager') as unknown as { spec: { replicas: number; strategy?: { type: string } } };
    expect(deployment.spec).toMatchObject({ replicas: 1, strategy: { type: 'Recreate' } });
  });

  const configMaps = new Map(all.filter((item) => item.kind === 'ConfigMap').map((item) => [item.metadata.name, item.data as Record<string, string>]));
  const secrets = new Map((manifests.get('secret.example.yaml') ?? []).map((item) => [item.metadata.name, item.stringData as Record<string, string>]));
  const environmentOf = (name: Program): ContainerEnvironment => {
    const deployment = find('Deployment', name) as unknown as { spec: { template: { spec: PodSpec } } } | undefined;
    if (!deployment) throw new Error(`no Deployment ${name}`);
    return kubernetesEnvironment(deployment.spec.template.spec.containers[0]!, configMaps, secrets);
  };

  it.each(programs)('gives %s only variables its code reads (from env, ConfigMaps and Secrets)', (program) => {
    const environment = environmentOf(program);
    const read = variablesReadBy(program);
    const unread = Object.keys(environment.values).filter((name) => !read.has(name) && !environment.referenced.has(name));
    expect(unread.map((name) => `${name} (${environment.sources[name]})`)).toEqual([]);
  });

  it.each(programs)('gives %s every variable it needs, with values its configuration accepts', (program) => {
    expect(configurationProblems(program, environmentOf(program).values)).toEqual([]);
  });

  it('points flow-manager at the Asterisk Service with the login Asterisk is configured with, and Asterisk back at the pod', () => {
    const flowManager = environmentOf('flow-manager');
    const asterisk = environmentOf('asterisk');
    const ariUrl = new URL(flowManager.values.ARI_URL!);
    const service = find('Service', ariUrl.hostname) as unknown as { spec: { selector: Record<string, string>; ports: { port: number }[] } };
    expect(service.spec.selector).toEqual({ 'app.kubernetes.io/name': 'asterisk' });
    expect(service.spec.ports.map((port) => port.port)).toContain(Number(ariUrl.port));
    for (const name of ['ARI_USER', 'ARI_PASSWORD']) {
      expect(flowManager.sources[name], name).toMatch(/^Secret /);
      expect(flowManager.sources[name], name).toBe(asterisk.sources[name]);
    }
    const parsed = loadServiceConfiguration('flow-manager', flowManager.values) as { ARI_APP: string; PORT: number };
    expect(parsed.ARI_APP).toBe(asterisk.values.ARI_APP ?? renderScriptDefaults().ARI_APP);
    // `talk` audio lives in the memory of the flow-manager that rendered it: Asterisk must ask that pod.
    expect(new URL(flowManager.values.MEDIA_BASE_URL!)).toMatchObject({ hostname: podFields['status.podIP'], port: String(parsed.PORT) });
    expect(environmentOf('pipeline-manager').values.RTP_ADDRESS).toBe(podFields['status.podIP']);
  });
});

interface PodSpec {
  securityContext?: { runAsNonRoot?: boolean };
  containers: (KubernetesContainer & {
    image: string;
    ports: { name: string; containerPort: number }[];
    readinessProbe?: unknown;
    livenessProbe?: unknown;
    volumeMounts?: { mountPath: string }[];
    securityContext?: { readOnlyRootFilesystem?: boolean };
  })[];
}

interface ComposeService {
  command?: string[];
  build?: { context: string; dockerfile?: string };
  depends_on?: Record<string, unknown>;
  hostname?: string;
  environment?: Record<string, string | number>;
}

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
  // What the README's `ADMIN_TOKEN=... ENGINE_KEY_ENCRYPTION_KEY=... docker compose up` gives it.
  const given = { ADMIN_TOKEN: 'a-token-of-24-characters', ENGINE_KEY_ENCRYPTION_KEY: 'ab'.repeat(32) };
  const environmentOf = (name: string): Record<string, string> =>
    Object.fromEntries(Object.entries(compose.services[name]?.environment ?? {}).map(([key, value]) => [key, interpolateCompose(String(value), given)]));

  it('runs PostgreSQL, RabbitMQ, Asterisk and the three services from the one image', () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['postgres', 'rabbitmq', 'asterisk', ...services]));
    for (const service of services) {
      const definition = compose.services[service]!;
      expect(definition.build?.dockerfile).toBe('infra/Dockerfile');
      expect(existsSync(join(root, definition.command![0]!))).toBe(true);
      expect(Object.keys(definition.depends_on ?? {})).toEqual(expect.arrayContaining(['postgres', 'rabbitmq']));
    }
  });

  it('builds Asterisk from infra/asterisk', () => {
    const build = compose.services.asterisk!.build!;
    expect(existsSync(join(root, build.context, build.dockerfile ?? 'Dockerfile'))).toBe(true);
    expect(build.context).toBe('infra/asterisk');
  });

  it.each(programs)('gives %s only variables its code reads', (program) => {
    const read = variablesReadBy(program);
    expect(Object.keys(environmentOf(program)).filter((name) => !read.has(name))).toEqual([]);
  });

  it.each(programs)('gives %s every variable it needs, with values its configuration accepts', (program) => {
    expect(configurationProblems(program, environmentOf(program))).toEqual([]);
  });

  it('points flow-manager at Asterisk with its login, Asterisk at flow-manager for audio and at pipeline-manager for RTP', () => {
    const flowManager = environmentOf('flow-manager');
    const asterisk = { ...renderScriptDefaults(), ...environmentOf('asterisk') };
    expect(new URL(flowManager.ARI_URL!)).toMatchObject({ hostname: 'asterisk', port: asterisk.ARI_PORT });
    for (const name of ['ARI_USER', 'ARI_PASSWORD', 'ARI_APP']) expect(flowManager[name], name).toBe(asterisk[name]);
    expect(new URL(flowManager.MEDIA_BASE_URL!)).toMatchObject({ hostname: 'flow-manager', port: flowManager.PORT });
    // The RTP sockets bind to this address and Asterisk sends there: the container's own address.
    const pipelineManager = compose.services['pipeline-manager']!;
    expect([pipelineManager.hostname, 'pipeline-manager']).toContain(environmentOf('pipeline-manager').RTP_ADDRESS);
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
