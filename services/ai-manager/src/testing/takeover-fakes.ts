import { appError, createRpcRouter, rpcReply, type Bus, type RpcRequest, type Subscription } from '@avp/shared';

/** A pipeline-manager process as ai-manager sees it: heartbeats, its own queue, what it was asked. */
export interface FakeInstance {
  instanceId: string;
  bus: Bus;
  requests: RpcRequest[];
  /** Pipelines it runs, with their epoch and whether the bot speaks. */
  pipelines: Map<string, { epoch: number; speaking: boolean }>;
  /** Heartbeats stop (the queue stays). */
  silence(): void;
  /** Heartbeats stop and the queue goes (kill -9). */
  kill(): Promise<void>;
  /** Takes requests but answers none (SIGSTOP), and sends no heartbeat. */
  hang(): void;
  release(): void;
  /** Answers a pipeline start with this error. */
  refuseStarts: boolean;
}

export async function startFakeInstance(bus: Bus, instanceId: string, options: { shared: boolean }): Promise<FakeInstance> {
  const requests: RpcRequest[] = [];
  const pipelines = new Map<string, { epoch: number; speaking: boolean }>();
  let hung: Promise<void> | undefined;
  let release = () => undefined as void;
  let beating = true;
  const instance: FakeInstance = {
    instanceId,
    bus,
    requests,
    pipelines,
    refuseStarts: false,
    silence: () => void (beating = false),
    async kill() {
      beating = false;
      release();
      await server?.close();
      server = undefined;
    },
    hang() {
      beating = false;
      hung = new Promise<void>((resolve) => (release = resolve));
    },
    release: () => release(),
  };
  const router = createRpcRouter()
    .add('GET', '/v1/ping', async () => ({ service: 'pipeline-manager', instance_id: instanceId }))
    .add('POST', '/v1/pipelines', async ({ data }) => {
      if (instance.refuseStarts) throw appError('INTERNAL', 'no room');
      const body = data as { aicall_id: string; pipeline_epoch?: number };
      pipelines.set(body.aicall_id, { epoch: body.pipeline_epoch ?? 0, speaking: false });
      return rpcReply(201, { pipeline_id: body.aicall_id, instance_id: instanceId });
    })
    .add('GET', '/v1/pipelines', async () => ({ instance_id: instanceId, result: [...pipelines.keys()].map((id) => ({ pipeline_id: id, aicall_id: id })) }))
    .add('POST', '/v1/pipelines/:id/stop', async ({ params }) => {
      if (!pipelines.delete(params.id!)) throw appError('RESOURCE_NOT_FOUND', `No pipeline ${params.id} runs here.`);
      return { stopped: true };
    });
  let server: Subscription | undefined = await bus.serve(
    'pipeline-manager',
    async (request) => {
      requests.push(request);
      await hung;
      return router.handle(request);
    },
    { instanceId, shared: options.shared },
  );
  const timer = setInterval(() => {
    if (!beating) return;
    const heartbeat = { instance_id: instanceId, pipelines: [...pipelines].map(([id, state]) => ({ aicall_id: id, pipeline_epoch: state.epoch, speaking: state.speaking })) };
    void bus.publish('pipeline-manager', { type: 'pipeline_manager_heartbeat', data: heartbeat }).catch(() => undefined);
  }, 50);
  const kill = instance.kill;
  instance.kill = async () => {
    clearInterval(timer);
    await kill();
  };
  return instance;
}

/** flow-manager's side of a session: its routes, recorded. */
export async function startFakeFlowManager(bus: Bus) {
  const requests: RpcRequest[] = [];
  const activeflows = new Map<string, string>();
  const router = createRpcRouter()
    .add('GET', '/v1/activeflows/:id', async ({ params }) => ({ id: params.id, reference_type: 'call', reference_id: activeflows.get(params.id!) ?? null }))
    .add('GET', '/v1/variables/:id', async () => ({ variables: {} }))
    .add('POST', '/v1/variables/:id/variables', async ({ data }) => data)
    .add('DELETE', '/v1/calls/:id/external_media', async () => ({ stopped: true }))
    .add('POST', '/v1/activeflows/:id/service_stop', async () => ({ ok: true }));
  const server = await bus.serve('flow-manager', async (request) => {
    requests.push(request);
    return router.handle(request);
  });
  return { requests, activeflows, close: () => server.close() };
}

