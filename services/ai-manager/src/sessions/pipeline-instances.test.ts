import { createInProcessBus, silentLogger } from '@avp/shared';
import { describe, expect, it } from 'vitest';
import { PipelineInstances, trustedSilenceMs } from './pipeline-instances.ts';

describe('trustedSilenceMs', () => {
  it('counts from the last heartbeat once the listener is past its grace', () => {
    expect(trustedSilenceMs(10_000, 0, 6000, 11_500)).toBe(1500);
  });

  it('counts nothing before the grace after this process (re)connected has passed', () => {
    // Reconnected at 20 s: an instance last heard at 10 s (before the broker restart) is silent only from 26 s on.
    expect(trustedSilenceMs(10_000, 20_000, 6000, 25_000)).toBe(0);
    expect(trustedSilenceMs(10_000, 20_000, 6000, 27_000)).toBe(1000);
  });

  it('knows nothing while this process\'s own bus is down', () => {
    expect(trustedSilenceMs(10_000, undefined, 6000, 60_000)).toBeUndefined();
  });

  it('counts an instance never heard from the moment listening could be trusted', () => {
    expect(trustedSilenceMs(undefined, 1000, 500, 4000)).toBe(2500);
  });
});

describe('PipelineInstances', () => {
  function tracker(settings = { silentAfterMs: 1000, reconnectGraceMs: 3000 }) {
    let now = 100_000;
    const instances = new PipelineInstances({ bus: createInProcessBus(), logger: silentLogger(), serviceName: 'ai-manager', instanceId: 'test', settings, now: () => now });
    return { instances, advance: (ms: number) => (now += ms) };
  }
  const busy = (id: string, speaking = false) => ({ instance_id: id, pipelines: [{ aicall_id: `aicall-${id}`, pipeline_epoch: 2, speaking }] });

  it('finds an instance silent while another is heard, with the pipelines it last ran', () => {
    const { instances, advance } = tracker();
    instances.observeBus(true);
    advance(5000);
    instances.heard(busy('a', true));
    instances.heard(busy('b'));
    advance(800);
    instances.heard(busy('b'));
    expect(instances.silent()).toEqual([]);
    advance(400);
    instances.heard(busy('b'));
    expect(instances.silent()).toEqual([{ instanceId: 'a', silentMs: 1200, aicallIds: ['aicall-a'] }]);
    expect(instances.lastKnown('a', 'AICALL-A')).toEqual({ epoch: 2, speaking: true });
    expect(instances.alive('a')).toEqual(['b']);
  });

  it('finds no one silent when every instance falls silent (the broker stopped delivering)', () => {
    const { instances, advance } = tracker();
    instances.observeBus(true);
    advance(5000);
    instances.heard(busy('a'));
    instances.heard(busy('b'));
    advance(5000);
    expect(instances.silent()).toEqual([]);
    expect(instances.alive()).toEqual([]);
  });

  it('trusts no silence while its own bus is down, nor within the grace after it reconnected', () => {
    const { instances, advance } = tracker();
    instances.observeBus(true);
    advance(5000);
    instances.heard(busy('a'));
    instances.heard(busy('b'));
    instances.observeBus(false); // The broker restarts.
    advance(4000);
    instances.heard(busy('b')); // b is back first ...
    expect(instances.silent()).toEqual([]);
    instances.observeBus(true);
    advance(2000);
    instances.heard(busy('b'));
    expect(instances.silent()).toEqual([]); // ... a gets the grace to reconnect too.
    advance(2500);
    instances.heard(busy('b'));
    expect(instances.silent().map((silent) => silent.instanceId)).toEqual(['a']);
  });

  it('lists the least busy live instance first; silent ones, idle too, until forgotten', () => {
    const { instances, advance } = tracker();
    instances.observeBus(true);
    advance(5000);
    instances.heard({ instance_id: 'busy', pipelines: [1, 2, 3].map((n) => ({ aicall_id: `c${n}`, pipeline_epoch: 0, speaking: false })) });
    instances.heard({ instance_id: 'idle', pipelines: [] });
    instances.heard(busy('one'));
    expect(instances.alive()).toEqual(['idle', 'one', 'busy']);
    advance(2000);
    instances.heard(busy('one'));
    expect(instances.silent().map((silent) => silent.instanceId)).toEqual(['busy', 'idle']);
    expect(instances.alive()).toEqual(['one']);
    instances.forget('busy');
    instances.forget('idle');
    expect(instances.silent()).toEqual([]);
  });
});
