import { createInProcessBus, rpcCall, silentLogger } from '@avp/shared';
import { describe, expect, it } from 'vitest';
import { registryProviders } from '../app.ts';
import { PipelineSessions } from './pipeline-sessions.ts';
import { createPipelineRpcRouter } from './rpc-routes.ts';

describe('pipeline-manager bus routes', () => {
  it('lists the pipelines of the instance asked and answers 404 for one it does not run', async () => {
    const bus = createInProcessBus();
    const sessions = new PipelineSessions({ bus, logger: silentLogger(), instanceId: 'pm-1', providers: registryProviders });
    const router = createPipelineRpcRouter(sessions, { serviceName: 'pipeline-manager', instanceId: 'pm-1' });
    await bus.serve('pipeline-manager', router.handle, { instanceId: 'pm-1', shared: false });

    expect(await rpcCall(bus, 'pipeline-manager', 'GET', '/v1/pipelines', undefined, { instanceId: 'pm-1' })).toEqual({ instance_id: 'pm-1', result: [] });
    const unknown = '/v1/pipelines/00000000-0000-4000-8000-000000000001';
    const customer = '00000000-0000-4000-8000-00000000000c';
    await expect(rpcCall(bus, 'pipeline-manager', 'GET', `${unknown}?customer_id=${customer}`, undefined, { instanceId: 'pm-1' })).rejects.toMatchObject({
      reason: 'RESOURCE_NOT_FOUND',
      httpStatus: 404,
    });
    await expect(rpcCall(bus, 'pipeline-manager', 'POST', `${unknown}/stop`, { customer_id: customer }, { instanceId: 'pm-1' })).rejects.toMatchObject({ httpStatus: 404 });
    // A request on a pipeline names the customer it acts for; without one it is refused.
    await expect(rpcCall(bus, 'pipeline-manager', 'GET', unknown, undefined, { instanceId: 'pm-1' })).rejects.toMatchObject({ reason: 'VALIDATION_FAILED' });
    await expect(rpcCall(bus, 'pipeline-manager', 'POST', `${unknown}/dtmf`, { digit: '1' }, { instanceId: 'pm-1' })).rejects.toMatchObject({ reason: 'VALIDATION_FAILED' });
    // Another instance's queue: nobody serves it.
    await expect(rpcCall(bus, 'pipeline-manager', 'GET', '/v1/pipelines', undefined, { instanceId: 'pm-2' })).rejects.toMatchObject({ reason: 'ROUTE_NOT_FOUND' });
    await bus.close();
  });
});
