import { randomUUID } from 'node:crypto';
import { isAppError, rpcCall, type InlineAiRelease, type InlineAiSync, type InlineAiSyncResult } from '@avp/shared';
import { describe, expect, it } from 'vitest';
import type { AiManagerTables } from '../../db/tables.ts';
import { aiBody, call, createTestCustomer, secretEngineKey, type Harness } from '../harness.ts';
import type { GetContext } from './context.ts';
import { invalidAis } from './validation-suite.ts';

/** Inline settings as flow-manager sends them: an AI body without name and detail. */
function settings(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const { name: _name, detail: _detail, ...rest } = aiBody(overrides);
  for (const [field, value] of Object.entries(overrides)) if (value === undefined) delete rest[field];
  return rest;
}

async function sync(harness: Harness, request: InlineAiSync): Promise<InlineAiSyncResult> {
  return rpcCall<InlineAiSyncResult>(harness.bus, 'ai-manager', 'PUT', '/v1/inline_ais', request);
}

async function release(harness: Harness, request: InlineAiRelease): Promise<{ released: number; deleted: number }> {
  return rpcCall(harness.bus, 'ai-manager', 'POST', '/v1/inline_ais/release', request);
}

/** The refusal of a sync: its message and problems. */
async function refusal(harness: Harness, request: InlineAiSync): Promise<{ reason: string; problems: { action_id: string; message: string }[] }> {
  try {
    await sync(harness, request);
  } catch (error) {
    if (!isAppError(error)) throw error;
    return { reason: error.reason, problems: (error.details as { problems?: { action_id: string; message: string }[] } | undefined)?.problems ?? [] };
  }
  throw new Error('the sync was not refused');
}

/**
 * `PUT /v1/inline_ais`: the AI settings flow actions carry inline, kept as hidden AIs of the
 * customer's: checked by POST /v1.0/ais's rules with its messages, the key encrypted and never
 * shown, PUT's rules on a re-save, hidden from /v1.0/ais, and out of other customers' reach.
 */
export function inlineAisSuite(get: GetContext): void {
  describe('inline AIs (flow actions with AI settings)', () => {
    const rows = (database: GetContext) => database().database.forSchema<AiManagerTables>('ai_manager').selectFrom('ais').selectAll();

    it('keeps the settings as a hidden AI: the key encrypted and never shown, not in /v1.0/ais, not nameable as an AI', async () => {
      const { harness } = get();
      const customer = await createTestCustomer(harness);
      const owner = randomUUID();
      const action = randomUUID();
      const { result } = await sync(harness, { customer_id: customer.id, owner_type: 'flow', owner_id: owner, ais: [{ action_id: action, settings: settings() }] });
      expect(result).toHaveLength(1);
      const ai = result[0]!.ai;
      expect(result[0]!.action_id).toBe(action);
      expect(ai).toMatchObject({ customer_id: customer.id, engine_model: 'openai.gpt-4o-mini', tts_type: 'elevenlabs', engine_key_set: true, turn_config: {}, no_input_max: 2 });
      expect(JSON.stringify(result)).not.toContain(secretEngineKey);
      const row = await rows(get).where('id', '=', ai.id).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ inline_owner_type: 'flow', inline_owner_id: owner, inline_action_id: action });
      expect(row.engine_key_encrypted).toBeTruthy();
      expect(row.engine_key_encrypted).not.toContain(secretEngineKey);

      const named = await call(harness, 'POST', '/v1.0/ais', { key: customer.key, body: aiBody() });
      const list = await call(harness, 'GET', '/v1.0/ais', { key: customer.key });
      expect(list.body.result.map((entry: { id: string }) => entry.id)).toEqual([named.body.id]);
      for (const [method, body] of [['GET', undefined], ['PUT', aiBody()], ['DELETE', undefined]] as const) {
        const response = await call(harness, method, `/v1.0/ais/${ai.id}`, { key: customer.key, ...(body ? { body } : {}) });
        expect(response.status, method).toBe(404);
      }
      // flow-manager's check of an ai_id: an inline AI is not an AI one can name.
      await expect(rpcCall(harness.bus, 'ai-manager', 'GET', `/v1/ais/${ai.id}?customer_id=${customer.id}`)).rejects.toMatchObject({ reason: 'RESOURCE_NOT_FOUND' });
      // No ai_* event: the AI is part of its flow.
      expect(harness.events.some((event) => (event.data as { id?: string } | undefined)?.id === ai.id)).toBe(false);
    });

    it.each(invalidAis.filter(([, change]) => !('name' in change) && !('detail' in change)))('refuses %s with the message of POST /v1.0/ais', async (_name, change) => {
      const { harness } = get();
      const customer = await createTestCustomer(harness);
      const body = aiBody(change);
      for (const [field, value] of Object.entries(change)) if (value === undefined) delete body[field];
      const direct = await call(harness, 'POST', '/v1.0/ais', { key: customer.key, body });
      expect(direct.status).toBe(400);
      const action = randomUUID();
      const refused = await refusal(harness, { customer_id: customer.id, owner_type: 'flow', owner_id: randomUUID(), ais: [{ action_id: action, settings: settings(change) }] });
      expect(refused).toEqual({ reason: 'VALIDATION_FAILED', problems: [{ action_id: action, message: direct.body.error.message }] });
    });

    it("refuses what POST /v1.0/ais refuses when storing (a key with no fallback model, another customer's knowledge base), and stores none of the owner's AIs then", async () => {
      const { harness } = get();
      const customer = await createTestCustomer(harness);
      const other = await createTestCustomer(harness);
      const theirs = await call(harness, 'POST', '/v1.0/knowledgebases', { key: other.key, body: { name: 'theirs' } });
      const fallback = await call(harness, 'POST', '/v1.0/ais', { key: customer.key, body: aiBody({ fallback_engine_key: 'sk-fallback' }) });
      const knowledge = await call(harness, 'POST', '/v1.0/ais', { key: customer.key, body: aiBody({ knowledgebase_ids: [theirs.body.id] }) });
      const [good, badKey, badKnowledge] = [randomUUID(), randomUUID(), randomUUID()];
      const owner = randomUUID();
      const refused = await refusal(harness, {
        customer_id: customer.id,
        owner_type: 'activeflow',
        owner_id: owner,
        ais: [
          { action_id: good, settings: settings() },
          { action_id: badKey, settings: settings({ fallback_engine_key: 'sk-fallback' }) },
          { action_id: badKnowledge, settings: settings({ knowledgebase_ids: [theirs.body.id] }) },
        ],
      });
      expect(refused.problems).toEqual([
        { action_id: badKey, message: fallback.body.error.message },
        { action_id: badKnowledge, message: `knowledgebase_ids: ${knowledge.body.error.message as string}` },
      ]);
      expect(await rows(get).where('inline_owner_id', '=', owner).execute()).toEqual([]);
    });

    it("re-saves by PUT /v1.0/ais's rules: a key left out is kept, \"\" removes it; the owner's other actions' AIs go", async () => {
      const { harness } = get();
      const customer = await createTestCustomer(harness);
      const owner = randomUUID();
      const [first, second] = [randomUUID(), randomUUID()];
      const request = (items: InlineAiSync['ais']): InlineAiSync => ({ customer_id: customer.id, owner_type: 'flow', owner_id: owner, ais: items });
      const created = await sync(harness, request([{ action_id: first, settings: settings() }, { action_id: second, settings: settings({ engine_key: undefined }) }]));
      const firstId = created.result[0]!.ai.id;
      const sealed = (await rows(get).where('id', '=', firstId).executeTakeFirstOrThrow()).engine_key_encrypted;
      expect(created.result[1]!.ai.engine_key_set).toBe(false);

      const again = await sync(harness, request([{ action_id: first, settings: settings({ engine_key: undefined, vad_config: undefined, init_prompt: 'changed' }) }]));
      expect(again.result[0]!.ai).toMatchObject({ id: firstId, engine_key_set: true, init_prompt: 'changed', vad_config: { confidence: 0.6 } });
      expect((await rows(get).where('id', '=', firstId).executeTakeFirstOrThrow()).engine_key_encrypted).toBe(sealed);
      const secondRow = await rows(get).where('inline_action_id', '=', second).executeTakeFirstOrThrow();
      expect(secondRow.tm_delete).not.toBeNull();

      const cleared = await sync(harness, request([{ action_id: first, settings: settings({ engine_key: '' }) }]));
      expect(cleared.result[0]!.ai).toMatchObject({ id: firstId, engine_key_set: false });
      // An empty list: the owner (a deleted flow) has none left.
      expect(await sync(harness, request([]))).toEqual({ result: [] });
      expect((await rows(get).where('id', '=', firstId).executeTakeFirstOrThrow()).tm_delete).not.toBeNull();
    });

    it("keeps customers apart: another customer's sync under the same owner id reaches none of the first one's AIs, nor can they start its AI", async () => {
      const { harness } = get();
      const alice = await createTestCustomer(harness, 'alice');
      const bob = await createTestCustomer(harness, 'bob');
      const owner = randomUUID();
      const action = randomUUID();
      const { result } = await sync(harness, { customer_id: alice.id, owner_type: 'flow', owner_id: owner, ais: [{ action_id: action, settings: settings() }] });
      const aliceAi = result[0]!.ai;
      // Bob names Alice's flow and action: he gets an AI of his own, and his empty sync deletes only his.
      const bobs = await sync(harness, { customer_id: bob.id, owner_type: 'flow', owner_id: owner, ais: [{ action_id: action, settings: settings({ engine_key: undefined }) }] });
      expect(bobs.result[0]!.ai).toMatchObject({ customer_id: bob.id, engine_key_set: false });
      expect(bobs.result[0]!.ai.id).not.toBe(aliceAi.id);
      await sync(harness, { customer_id: bob.id, owner_type: 'flow', owner_id: owner, ais: [] });
      expect(await rows(get).where('id', '=', aliceAi.id).executeTakeFirstOrThrow()).toMatchObject({ tm_delete: null });
      // Nor can Bob use it by its id.
      const aicall = await call(harness, 'POST', '/v1.0/aicalls', { key: bob.key, body: { assistance_type: 'ai', assistance_id: aliceAi.id } });
      expect(aicall.status).toBe(404);
      await expect(rpcCall(harness.bus, 'ai-manager', 'GET', `/v1/ais/${aliceAi.id}?customer_id=${bob.id}`)).rejects.toMatchObject({ reason: 'RESOURCE_NOT_FOUND' });
    });

    it('refuses a malformed request and repeated action ids', async () => {
      const { harness } = get();
      const customer = await createTestCustomer(harness);
      const action = randomUUID();
      await expect(rpcCall(harness.bus, 'ai-manager', 'PUT', '/v1/inline_ais', { owner_type: 'flow', owner_id: randomUUID(), ais: [] })).rejects.toMatchObject({ reason: 'VALIDATION_FAILED' });
      const repeated = { customer_id: customer.id, owner_type: 'flow' as const, owner_id: randomUUID(), ais: [{ action_id: action, settings: settings() }, { action_id: action, settings: settings() }] };
      await expect(sync(harness, repeated)).rejects.toMatchObject({ reason: 'VALIDATION_FAILED', message: expect.stringContaining('action ids must not repeat') });
    });

    it("release: an ended activeflow's or outgoing calls' inline AIs go at once when no session runs them; a flow's, a named AI and another customer's stay", async () => {
      const { harness } = get();
      const customer = await createTestCustomer(harness);
      const other = await createTestCustomer(harness, 'other');
      const owned = async (customerId: string, ownerType: 'flow' | 'activeflow' | 'calls') =>
        (await sync(harness, { customer_id: customerId, owner_type: ownerType, owner_id: randomUUID(), ais: [{ action_id: randomUUID(), settings: settings() }] })).result[0]!.ai.id;
      const ofActiveflow = await owned(customer.id, 'activeflow');
      const ofCalls = await owned(customer.id, 'calls');
      const ofFlow = await owned(customer.id, 'flow');
      const othersActiveflow = await owned(other.id, 'activeflow');
      const named = (await call(harness, 'POST', '/v1.0/ais', { key: customer.key, body: aiBody() })).body.id as string;

      const answer = await release(harness, { customer_id: customer.id, ai_ids: [ofActiveflow, ofCalls, ofFlow, othersActiveflow, named, randomUUID()] });
      expect(answer).toEqual({ released: 2, deleted: 2 });
      for (const id of [ofActiveflow, ofCalls]) expect((await rows(get).where('id', '=', id).executeTakeFirstOrThrow()).tm_delete).not.toBeNull();
      for (const id of [ofFlow, othersActiveflow, named]) expect(await rows(get).where('id', '=', id).executeTakeFirstOrThrow()).toMatchObject({ tm_delete: null, inline_owner_ended: false });
      expect((await call(harness, 'GET', `/v1.0/ais/${named}`, { key: customer.key })).status).toBe(200);
      // Repeated: nothing more happens.
      expect(await release(harness, { customer_id: customer.id, ai_ids: [ofActiveflow, ofCalls] })).toEqual({ released: 0, deleted: 0 });
      await expect(release(harness, { customer_id: customer.id, ai_ids: [] })).rejects.toMatchObject({ reason: 'VALIDATION_FAILED' });
      await expect(release(harness, { customer_id: customer.id, ai_ids: ['not-a-uuid'] })).rejects.toMatchObject({ reason: 'VALIDATION_FAILED' });
    });

    it('release: an inline AI a session still runs stays until the last of its sessions ends', async () => {
      const { harness } = get();
      const customer = await createTestCustomer(harness);
      const database = get().database.forSchema<AiManagerTables>('ai_manager');
      // Two text sessions of an AI that is then made an activeflow's inline AI (the API names only named AIs).
      const ai = (await call(harness, 'POST', '/v1.0/ais', { key: customer.key, body: aiBody() })).body.id as string;
      const sessions: string[] = [];
      for (let index = 0; index < 2; index += 1) {
        const created = await call(harness, 'POST', '/v1.0/aicalls', { key: customer.key, body: { assistance_type: 'ai', assistance_id: ai, reference_type: '' } });
        expect(created.status, JSON.stringify(created.body)).toBeLessThan(300);
        sessions.push(created.body.id as string);
      }
      await database.updateTable('ais').set({ inline_owner_type: 'activeflow', inline_owner_id: randomUUID(), inline_action_id: randomUUID() }).where('id', '=', ai).execute();

      expect(await release(harness, { customer_id: customer.id, ai_ids: [ai] })).toEqual({ released: 1, deleted: 0 });
      expect(await rows(get).where('id', '=', ai).executeTakeFirstOrThrow()).toMatchObject({ tm_delete: null, inline_owner_ended: true });
      expect((await call(harness, 'POST', `/v1.0/aicalls/${sessions[0]}/terminate`, { key: customer.key })).status).toBe(200);
      expect((await rows(get).where('id', '=', ai).executeTakeFirstOrThrow()).tm_delete).toBeNull();
      expect((await call(harness, 'POST', `/v1.0/aicalls/${sessions[1]}/terminate`, { key: customer.key })).status).toBe(200);
      expect((await rows(get).where('id', '=', ai).executeTakeFirstOrThrow()).tm_delete).not.toBeNull();
      // The ended sessions still show which AI they ran.
      expect((await call(harness, 'GET', `/v1.0/aicalls/${sessions[1]}`, { key: customer.key })).body).toMatchObject({ assistance_id: ai, status: 'terminated' });
    });
  });
}
