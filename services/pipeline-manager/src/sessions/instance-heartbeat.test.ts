import { createInProcessBus, silentLogger, type EventEnvelope } from '@avp/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { InstanceHeartbeat } from './instance-heartbeat.ts';

const running: InstanceHeartbeat[] = [];
afterEach(() => {
  for (const heartbeat of running.splice(0)) heartbeat.stop();
});

async function until(predicate: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('InstanceHeartbeat', () => {
  it('publishes the instance and its pipelines with their epochs, also with none', async () => {
    const bus = createInProcessBus();
    const heard: EventEnvelope[] = [];
    await bus.subscribe('pipeline-manager', ['pipeline_manager_heartbeat'], async (event) => void heard.push(event), { queue: 'test-heartbeats', temporary: true });
    let pipelines: { aicall_id: string; pipeline_epoch: number; speaking: boolean }[] = [];
    const heartbeat = new InstanceHeartbeat({ bus, logger: silentLogger(), serviceName: 'pipeline-manager', instanceId: 'pm-1', pipelines: () => pipelines, intervalMs: 20 });
    running.push(heartbeat);
    heartbeat.start();
    await until(() => heard.length >= 1, 'a heartbeat');
    expect(heard[0]).toMatchObject({ type: 'pipeline_manager_heartbeat', publisher: 'pipeline-manager', data: { instance_id: 'pm-1', pipelines: [] } });
    pipelines = [{ aicall_id: 'a1', pipeline_epoch: 2, speaking: true }];
    await until(() => heard.some((event) => (event.data as { pipelines: unknown[] }).pipelines.length === 1), 'a heartbeat naming the pipeline');
    expect(heard.at(-1)!.data).toMatchObject({ instance_id: 'pm-1', pipelines: [{ aicall_id: 'a1', pipeline_epoch: 2, speaking: true }] });
    heartbeat.stop();
    const count = heard.length;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(heard.length).toBe(count);
  });

  it('sends nothing while the bus cannot carry messages', async () => {
    const bus = createInProcessBus();
    const published: unknown[] = [];
    const down = { ...bus, isHealthy: () => false, publish: async (...args: unknown[]) => void published.push(args) };
    const heartbeat = new InstanceHeartbeat({ bus: down, logger: silentLogger(), serviceName: 'pipeline-manager', instanceId: 'pm-2', pipelines: () => [], intervalMs: 10 });
    running.push(heartbeat);
    heartbeat.start();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(published).toEqual([]);
  });

  it('notices that the process was stalled (a tick far too late) and says for how long', async () => {
    const stalls: number[] = [];
    const heartbeat = new InstanceHeartbeat({
      bus: createInProcessBus(),
      logger: silentLogger(),
      serviceName: 'pipeline-manager',
      instanceId: 'pm-3',
      pipelines: () => [],
      intervalMs: 10,
      stallMs: 100,
      onStall: (stalledMs) => stalls.push(stalledMs),
    });
    running.push(heartbeat);
    heartbeat.start();
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(stalls).toEqual([]);
    const blockedUntil = Date.now() + 200; // The event loop does nothing else, as under SIGSTOP.
    while (Date.now() < blockedUntil) {
      // busy
    }
    await until(() => stalls.length === 1, 'the stall to be noticed');
    expect(stalls[0]).toBeGreaterThanOrEqual(100);
  });
});
