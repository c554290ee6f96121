import { isAppError, OutboundPolicy, parseOutboundAllowList } from '@avp/shared';
import { describe, expect, it } from 'vitest';
import { FakeCallControl } from '../../testing/fake-call-control.ts';
import { MediaUrlGuard } from './media-url-guard.ts';

const call = { id: 'call-1', channelId: 'channel-1', source: '+15550001', destination: '+15550002' };
const signal = new AbortController().signal;
const publicDns = async (host: string) => {
  if (host === 'media.example.com') return [{ address: '93.184.216.34', family: 4 }];
  if (host === 'inside.example.com') return [{ address: '10.0.0.9', family: 4 }];
  throw new Error(`ENOTFOUND ${host}`);
};

describe('MediaUrlGuard (play, when it runs)', () => {
  it('refuses internal http(s) media before Asterisk is asked to fetch anything', async () => {
    const control = new FakeCallControl();
    const guard = new MediaUrlGuard(control, new OutboundPolicy(undefined, publicDns));
    for (const url of ['http://169.254.169.254/a.wav', 'https://inside.example.com/a.wav', 'HTTP://[::1]/a.wav', 'http://0x7f000001/a.wav', 'sound:http://10.0.0.1/a.wav', 'SOUND:https://inside.example.com/a.wav']) {
      const error = await guard.play(call, ['sound:hello', url], signal).catch((caught: unknown) => caught);
      expect([url, isAppError(error) && error.reason]).toEqual([url, 'VALIDATION_FAILED']);
      expect((error as Error).message).toMatch(/^stream_urls\[1\]: must not point at an internal address/);
    }
    expect(control.operations).toEqual([]);
  });

  it("passes Asterisk's own media, public URLs and hosts the operator allows", async () => {
    const control = new FakeCallControl();
    const guard = new MediaUrlGuard(control, new OutboundPolicy(parseOutboundAllowList('127.0.0.1'), publicDns));
    await guard.play(call, ['sound:hello', 'tone:440', 'https://media.example.com/a.wav', 'http://127.0.0.1:8081/media/x.wav'], signal);
    expect(control.operations).toEqual(['play sound:hello,tone:440,https://media.example.com/a.wav,http://127.0.0.1:8081/media/x.wav']);
  });
});
