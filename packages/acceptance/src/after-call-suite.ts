import type { TelephonyKind } from '@avp/asterisk-testing';
import { eventually } from '@avp/shared/testing';
import { beforeEach, expect, it } from 'vitest';
import { placeCall, setUpAi } from './calls.ts';
import type { Client, Cluster } from './cluster.ts';
import { describeOn, useCluster } from './suite.ts';

interface Transcript {
  direction: 'in' | 'out';
  message: string;
  offset_ms: number;
}

const greeting = 'Hello, how can I help you?';
const booked = 'Your table for two is booked for tomorrow.';
const request = 'I would like to book a table for two people tomorrow';

/** What a test customer's recognisers listen for: the caller's sentences and the AI's. */
const phrases = [request, 'thank you goodbye', 'yes', 'no', greeting, booked];

/**
 * After-call work on a real call, as a contact-centre customer uses it: the flow transcribes
 * the call from its start (`transcribe_start`) while an AI talks with the caller. The caller
 * speaks espeak-ng speech, the AI answers with espeak-ng; every recogniser is the offline
 * phrase recogniser (`local`), the transcriptions' too (TRANSCRIBE_STT_TYPE).
 */
export function afterCallSuite(telephony: TelephonyKind): void {
  describeOn(telephony, 'acceptance: transcription of an AI call (three processes, PostgreSQL + RabbitMQ)', () => {
    const clusterOf = useCluster('after-call', { telephony, extraEnvironment: { 'ai-manager': { TRANSCRIBE_STT_TYPE: 'local' } } });
    let cluster: Cluster;
    beforeEach(() => {
      cluster = clusterOf();
    });

    it('transcribes both sides of an AI call: what the caller said and what the AI answered, in order', async () => {
      const client: Client = await cluster.newCustomer('after-call');
      const setup = await setUpAi(client, {
        name: 'bookings',
        phrases,
        flow: (aiId) => [
          { type: 'answer' },
          { type: 'transcribe_start', option: { direction: 'both', language: 'en-US', phrases } },
          { type: 'ai_talk', option: { ai_id: aiId } },
          { type: 'hangup' },
        ],
      });
      cluster.llm.script(setup.model, (turn) => {
        if (turn.lastUser === '') return { text: greeting };
        if (turn.lastUser.includes('book a table')) return { text: booked };
        return { text: 'Goodbye.' };
      });
      const call = await placeCall(cluster, client, setup.number, '+15550007001');
      await call.waitForAnswer(greeting, 30_000);
      await call.say(request);
      await call.waitForAnswer(booked, 30_000);
      await eventually(() => !call.caller.hearingAudio, 'the answer to finish', 10_000, 50);

      const callRecord = (await client.api<{ result: { id: string; channel_id: string }[] }>('GET', '/v1.0/calls')).result.find((entry) => entry.channel_id === call.caller.id)!;
      const transcribe = (await client.api<{ result: { id: string; reference_id: string; status: string }[] }>('GET', '/v1.0/transcribes')).result.find(
        (entry) => entry.reference_id === callRecord.id,
      )!;
      expect(transcribe).toMatchObject({ status: 'progressing' });
      const transcripts = async () => (await client.api<{ result: Transcript[] }>('GET', `/v1.0/transcripts?transcribe_id=${transcribe.id}&page_size=100`)).result.reverse();
      await eventually(async () => (await transcripts()).length >= 3, 'the three utterances to be transcribed', 20_000, 200);
      call.caller.hangup();
      await eventually(async () => (await client.api<{ status: string }>('GET', `/v1.0/transcribes/${transcribe.id}`)).status === 'done', 'the transcription to end with the call', 20_000, 200);

      const heard = await transcripts();
      const side = (direction: 'in' | 'out') => heard.filter((entry) => entry.direction === direction);
      expect(side('in').map((entry) => entry.message)).toEqual([request.toLowerCase()]);
      expect(side('out').map((entry) => entry.message)).toEqual(['hello how can i help you', 'your table for two is booked for tomorrow']);
      // One clock for both sides: the greeting, then the caller, then the answer.
      const [hello, answer] = side('out');
      const [asked] = side('in');
      expect(hello!.offset_ms).toBeLessThan(asked!.offset_ms);
      expect(asked!.offset_ms).toBeLessThan(answer!.offset_ms);
    }, 120_000);
  });
}
