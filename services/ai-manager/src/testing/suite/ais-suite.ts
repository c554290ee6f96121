import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { databaseSchema } from '../../app.ts';
import { aiBody, call, createTestCustomer, secretEngineKey } from '../harness.ts';
import type { GetContext } from './context.ts';

/** `/v1.0/ais`: CRUD, the write-only engine key and PUT semantics. */
export function aisSuite(get: GetContext): void {
  describe('AIs', () => {
    it('creates, reads, lists, replaces and deletes an AI', async () => {
      const { harness } = get();
      const { key, id: customerId } = await createTestCustomer(harness);
      const created = await call(harness, 'POST', '/v1.0/ais', { key, body: aiBody() });
      expect(created.status).toBe(200);
      const { engine_key: _omitted, ...visible } = aiBody();
      expect(created.body).toMatchObject({ ...visible, customer_id: customerId, engine_key_set: true, tm_delete: null });
      expect(created.body.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(created.body.tm_create).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
      const id = created.body.id as string;

      expect((await call(harness, 'GET', `/v1.0/ais/${id}`, { key })).body).toEqual(created.body);
      const list = await call(harness, 'GET', '/v1.0/ais', { key });
      expect(list.body).toEqual({ result: [created.body], next_page_token: '' });

      const replaced = await call(harness, 'PUT', `/v1.0/ais/${id}`, {
        key,
        body: { engine_model: 'anthropic.claude-sonnet-4', name: 'renamed', tool_names: ['all'] },
      });
      expect(replaced.status).toBe(200);
      expect(replaced.body).toMatchObject({
        name: 'renamed',
        detail: '',
        engine_model: 'anthropic.claude-sonnet-4',
        parameter: {},
        init_prompt: '',
        tts_type: '',
        stt_language: '',
        tool_names: ['all'],
      });
      expect(replaced.body.tm_update > created.body.tm_update).toBe(true);

      const deleted = await call(harness, 'DELETE', `/v1.0/ais/${id}`, { key });
      expect(deleted.status).toBe(200);
      expect(deleted.body.tm_delete).not.toBeNull();
      expect((await call(harness, 'GET', `/v1.0/ais/${id}`, { key })).status).toBe(404);
      expect((await call(harness, 'DELETE', `/v1.0/ais/${id}`, { key })).status).toBe(404);
      expect((await call(harness, 'PUT', `/v1.0/ais/${id}`, { key, body: aiBody() })).status).toBe(404);
      expect((await call(harness, 'GET', '/v1.0/ais', { key })).body.result).toEqual([]);
    });

    it('applies defaults to a minimal AI', async () => {
      const { harness } = get();
      const { key } = await createTestCustomer(harness);
      const created = await call(harness, 'POST', '/v1.0/ais', { key, body: { engine_model: 'local.scripted' } });
      expect(created.status).toBe(200);
      expect(created.body).toMatchObject({
        name: '',
        engine_key_set: false,
        tool_names: [],
        vad_config: {},
        smart_turn_enabled: false,
        stt_language: '',
      });
    });

    it('PUT keeps vad_config, smart_turn_enabled and engine_key when left out', async () => {
      const { harness } = get();
      const { key } = await createTestCustomer(harness);
      const created = await call(harness, 'POST', '/v1.0/ais', { key, body: aiBody() });
      const id = created.body.id as string;
      const kept = await call(harness, 'PUT', `/v1.0/ais/${id}`, { key, body: { engine_model: 'openai.gpt-4o' } });
      expect(kept.body).toMatchObject({ vad_config: aiBody().vad_config, smart_turn_enabled: true, engine_key_set: true });
      const changed = await call(harness, 'PUT', `/v1.0/ais/${id}`, {
        key,
        body: { engine_model: 'openai.gpt-4o', vad_config: { stop_secs: 1 }, smart_turn_enabled: false, engine_key: '' },
      });
      expect(changed.body).toMatchObject({ vad_config: { stop_secs: 1 }, smart_turn_enabled: false, engine_key_set: false });
    });

    it('stores turn_config, and PUT keeps it when left out', async () => {
      const { harness } = get();
      const { key } = await createTestCustomer(harness);
      const turnConfig = { end_of_turn: { complete_stop_secs: 0.3, incomplete_stop_secs: 1.5, preemptive_enabled: false } };
      const created = await call(harness, 'POST', '/v1.0/ais', { key, body: aiBody({ turn_config: turnConfig }) });
      expect(created.body.turn_config).toEqual(turnConfig);
      expect((await call(harness, 'POST', '/v1.0/ais', { key, body: aiBody() })).body.turn_config).toEqual({});
      const id = created.body.id as string;
      const kept = await call(harness, 'PUT', `/v1.0/ais/${id}`, { key, body: { engine_model: 'openai.gpt-4o' } });
      expect(kept.body.turn_config).toEqual(turnConfig);
      const changed = await call(harness, 'PUT', `/v1.0/ais/${id}`, { key, body: { engine_model: 'openai.gpt-4o', turn_config: {} } });
      expect(changed.body.turn_config).toEqual({});
    });

    it('stores no_input_timeout and no_input_max (defaults 0 and 2), and PUT keeps them when left out', async () => {
      const { harness } = get();
      const { key } = await createTestCustomer(harness);
      expect((await call(harness, 'POST', '/v1.0/ais', { key, body: aiBody() })).body).toMatchObject({ no_input_timeout: 0, no_input_max: 2 });
      const created = await call(harness, 'POST', '/v1.0/ais', { key, body: aiBody({ no_input_timeout: 7.5, no_input_max: 3 }) });
      expect(created.body).toMatchObject({ no_input_timeout: 7.5, no_input_max: 3 });
      const id = created.body.id as string;
      const kept = await call(harness, 'PUT', `/v1.0/ais/${id}`, { key, body: { engine_model: 'openai.gpt-4o' } });
      expect(kept.body).toMatchObject({ no_input_timeout: 7.5, no_input_max: 3 });
      const changed = await call(harness, 'PUT', `/v1.0/ais/${id}`, { key, body: { engine_model: 'openai.gpt-4o', no_input_timeout: 0, no_input_max: 10 } });
      expect(changed.body).toMatchObject({ no_input_timeout: 0, no_input_max: 10 });
      expect((await call(harness, 'GET', `/v1.0/ais/${id}`, { key })).body).toMatchObject({ no_input_timeout: 0, no_input_max: 10 });
    });

    it('stores the engine key encrypted and never returns it', async () => {
      const { harness, database } = get();
      const { key } = await createTestCustomer(harness);
      const created = await call(harness, 'POST', '/v1.0/ais', { key, body: aiBody() });
      const rows = await sql<{ engine_key_encrypted: string }>`
        select engine_key_encrypted from ${sql.id(databaseSchema, 'ais')} where id = ${created.body.id}`.execute(
        database.forSchema(databaseSchema),
      );
      const stored = rows.rows[0]?.engine_key_encrypted ?? '';
      expect(stored).toMatch(/^v1:/);
      expect(stored).not.toContain(secretEngineKey);
      expect(JSON.stringify(created.body)).not.toContain('engine_key"');
    });
  });
}
