import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rms } from './media/codecs.ts';
import { sineTone } from './media/wav.ts';
import { startAsteriskSimulator, type AsteriskSimulator } from './simulator.ts';
import { PlainAriClient, type EventStream } from './testing/plain-ari-client.ts';

let simulator: AsteriskSimulator;
let ari: PlainAriClient;
let events: EventStream;

beforeEach(async () => {
  simulator = await startAsteriskSimulator({ ariUser: 'user', ariPassword: 'secret' });
  ari = new PlainAriClient(simulator.url, 'user', 'secret');
  events = await ari.events('test');
});

afterEach(async () => {
  events.close();
  await simulator.close();
});

async function originate(endpoint: string, timeout = 30): Promise<string> {
  const created = await ari.request('POST', '/channels', { endpoint, app: 'test', appArgs: 'call,1', timeout });
  expect(created.status).toBe(200);
  return created.body.id as string;
}

const dialStatuses = () => events.all.filter((event) => event.type === 'Dial').map((event) => event.dialstatus);

describe('scripted called parties of originated calls', () => {
  it('answers after the scripted delay; the called party hears the call and speaks into it', async () => {
    simulator.scriptOutbound('+15550001', { kind: 'answer', afterMs: 300 });
    const calledParty = simulator.waitForOutboundCall('+15550001');
    const startedAt = Date.now();
    const id = await originate('PJSIP/+15550001');
    const party = await calledParty;
    await events.next('StasisStart', (event) => (event.channel as { id: string }).id === id);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(250);
    expect(events.typesFor(id)).toEqual(['Dial', 'ChannelStateChange', 'Dial', 'ChannelStateChange', 'Dial', 'ChannelVarset', 'StasisStart']);
    expect(dialStatuses()).toEqual(['', 'RINGING', 'ANSWER']);

    // Audio both ways through a bridge with a second (auto-answered) party.
    const other = simulator.waitForOutboundCall(/carol/);
    const otherId = await originate('PJSIP/carol');
    const carol = await other;
    await events.next('StasisStart', (event) => (event.channel as { id: string }).id === otherId);
    await ari.request('POST', '/bridges', { type: 'mixing', bridgeId: 'b1' });
    await ari.request('POST', '/bridges/b1/addChannel', { channel: `${id},${otherId}` });
    const heard = party.waitForAudio(3000);
    await carol.play(sineTone(440, 400, 8000));
    await heard;
    expect(rms(party.recording())).toBeGreaterThan(100);
  });

  it('refuses busy: ChannelHangupRequest 17, Dial BUSY, ChannelDestroyed "User busy"; no StasisStart', async () => {
    simulator.scriptOutbound(/busy/, { kind: 'busy', afterMs: 100 });
    const id = await originate('PJSIP/busy-line');
    expect(await events.next('ChannelDestroyed')).toMatchObject({ cause: 17, cause_txt: 'User busy' });
    expect(events.typesFor(id)).toEqual(['Dial', 'ChannelStateChange', 'Dial', 'ChannelHangupRequest', 'Dial', 'ChannelDestroyed']);
    expect(dialStatuses()).toEqual(['', 'RINGING', 'BUSY']);
  });

  it('rejects with the scripted cause', async () => {
    simulator.scriptOutbound('congested', { kind: 'reject', cause: 34 });
    const id = await originate('PJSIP/congested');
    expect(await events.next('ChannelDestroyed')).toMatchObject({ cause: 34, cause_txt: 'Circuit/channel congestion' });
    expect(events.typesFor(id)).not.toContain('StasisStart');
    expect(dialStatuses()).toEqual(['', 'RINGING', 'CONGESTION']);
  });

  it('rings until the originate timeout: only ChannelDestroyed 19 after the ringing', async () => {
    simulator.scriptOutbound('silent', { kind: 'ring' });
    const id = await originate('PJSIP/silent', 1);
    expect(await events.next('ChannelDestroyed', () => true, 3000)).toMatchObject({ cause: 19, cause_txt: 'User alerting, no answer' });
    expect(events.typesFor(id)).toEqual(['Dial', 'ChannelStateChange', 'Dial', 'ChannelDestroyed']);
  });

  it('lets the latest matching script win and a removed script stop applying', async () => {
    const removeBusy = simulator.scriptOutbound(/^PJSIP\/x/, { kind: 'busy' });
    simulator.scriptOutbound('x1', { kind: 'ring' });
    const ringing = await originate('PJSIP/x1', 1);
    const busy = await originate('PJSIP/x2');
    await events.next('ChannelDestroyed', (event) => (event.channel as { id: string }).id === busy);
    expect(events.typesFor(ringing)).not.toContain('ChannelDestroyed');
    removeBusy();
    const answered = await originate('PJSIP/x3');
    await events.next('StasisStart', (event) => (event.channel as { id: string }).id === answered);
  });
});
