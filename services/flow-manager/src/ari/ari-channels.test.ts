import { describe, expect, it } from 'vitest';
import { AriChannels } from './ari-channels.ts';
import { hangupReason } from './hangup-causes.ts';

describe('AriChannels', () => {
  it('reports the end of a channel once, however many events Asterisk sends about it', () => {
    const channels = new AriChannels();
    channels.state('caller-1').outbound = false;
    expect(channels.remove('caller-1')).toMatchObject({ first: true, state: { outbound: false } });
    // The soft ChannelHangupRequest, StasisEnd and ChannelDestroyed that follow.
    expect(channels.remove('caller-1')).toEqual({ first: false, state: undefined });
    expect(channels.remove('caller-1').first).toBe(false);
    expect(channels.isGone('caller-1')).toBe(true);
  });

  it('resolves a wait for StasisStart at once when the channel entered before, or when it enters', async () => {
    const channels = new AriChannels();
    channels.enteredStasis('early');
    await channels.waitForStasis('early', 10, 'early');
    const waiting = channels.waitForStasis('late', 1000, 'late');
    channels.enteredStasis('late');
    await waiting;
  });

  it('fails a wait for StasisStart after its deadline with TELEPHONY_TIMEOUT', async () => {
    const channels = new AriChannels();
    await expect(channels.waitForStasis('never', 20, 'The RTP media channel')).rejects.toMatchObject({
      reason: 'TELEPHONY_TIMEOUT',
      message: 'The RTP media channel did not enter the Stasis application within 20 ms.',
    });
  });
});

describe('hangupReason', () => {
  it('prefers cause_txt, then the cause code, then what the event means', () => {
    expect(hangupReason({ type: 'ChannelDestroyed', cause: 16, cause_txt: 'Normal Clearing' })).toBe('Normal Clearing');
    expect(hangupReason({ type: 'ChannelHangupRequest', cause: 16 })).toBe('Normal Clearing');
    expect(hangupReason({ type: 'ChannelHangupRequest', cause: 17 })).toBe('User busy');
    expect(hangupReason({ type: 'ChannelHangupRequest', cause: 32, soft: true })).toBe('hung up over ARI');
    expect(hangupReason({ type: 'ChannelHangupRequest', cause: 250 })).toBe('cause 250');
    expect(hangupReason({ type: 'StasisEnd' })).toBe('left the application');
    expect(hangupReason({ type: 'ChannelHangupRequest' })).toBe('hangup requested');
  });
});
