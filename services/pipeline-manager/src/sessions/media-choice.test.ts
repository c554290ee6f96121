import { describe, expect, it } from 'vitest';
import { checkMediaChoice, pipelineStartSchema } from './pipeline-start.ts';

const base = { aicall_id: '00000000-0000-4000-8000-000000000001', customer_id: '00000000-0000-4000-8000-000000000002', ai: { engine_model: 'local.scripted' } };

describe('the media a pipeline start asks for', () => {
  it('takes a web session: no call, the relay\'s WebSocket URL', () => {
    const request = pipelineStartSchema.parse({ ...base, call_id: null, media_transport: 'web', media_url: 'ws://127.0.0.1:8080/v1.0/web_sessions/x/pipeline_media?token=t' });
    expect(checkMediaChoice('web', request.format, request)).toBeUndefined();
  });

  it('refuses a web session without a media URL, and a call transport without a call', () => {
    const web = pipelineStartSchema.parse({ ...base, call_id: null, media_transport: 'web' });
    expect(checkMediaChoice('web', web.format, web)).toMatch(/^media_url: required/);
    expect(checkMediaChoice('rtp', web.format, web)).toMatch(/^call_id: required/);
    expect(checkMediaChoice('web', 'ulaw', { call_id: null, media_url: 'ws://host/x' })).toMatch(/slin16 only/);
  });

  it('refuses a media URL that is not a WebSocket one', () => {
    expect(pipelineStartSchema.safeParse({ ...base, call_id: null, media_transport: 'web', media_url: 'http://host/x' }).success).toBe(false);
  });

  it('still refuses slin16 over RTP', () => {
    expect(checkMediaChoice('rtp', 'slin16')).toMatch(/websocket media transport only/);
  });
});
