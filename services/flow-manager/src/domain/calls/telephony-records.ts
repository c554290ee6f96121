import { creationTimestamps, currentTimestamp, deletionTimestamps, isAppError, jsonb, rpcCall, updateTimestamps, type Aicall } from '@avp/shared';
import type { StoredMediaLeg, StoredObject, TelephonyRecords } from '../../ari/ari-records.ts';
import { findActiveflow } from '../activeflows/activeflow-store.ts';
import type { DomainContext } from '../context.ts';
import { findCall, listLiveCalls } from './call-store.ts';

/** How long to wait for ai-manager's view of a session before deciding without it. */
const aiManagerTimeoutMs = 5000;

/**
 * The telephony records in flow-manager's database (migration `0003_create_telephony_records`),
 * and the question a restarted flow-manager asks about each external media leg it finds.
 *
 * A leg serves one AI session (pipeline-manager asks for it when an AIcall starts), and
 * flow-manager does not own AIcalls, so "is the session still live" is answered in two steps:
 * 1. flow-manager's own record: the call is up and its activeflow still runs the AIcall's stack
 *    (`voipbin.aicall.id`): the session has not given the flow back and the flow has not ended;
 * 2. ai-manager, which owns the session (`GET /v1/aicalls/{id}`): `terminating`, `terminated`
 *    or unknown means it ended, e.g. while flow-manager was down and its give-back was lost.
 * When ai-manager cannot answer, the leg is kept: cutting a live conversation is worse than
 * keeping a leg that the call's own end (or pipeline-manager's DELETE) removes later.
 */
export function databaseTelephonyRecords(context: DomainContext): TelephonyRecords {
  const { db } = context;
  return {
    liveChannels: async () => (await listLiveCalls(db)).map((call) => call.channel_id),

    async saveMediaLeg(leg) {
      const call = await findCall(db, leg.callId);
      if (!call) throw new Error(`No call ${leg.callId} to record a media leg for.`);
      const values = {
        customer_id: call.customer_id,
        caller_channel_id: leg.callerChannelId,
        channel_id: leg.channelId,
        bridge_id: leg.bridgeId,
        transport: leg.transport,
        pending: leg.pending,
        local_address: leg.localAddress ?? null,
        local_port: leg.localPort ?? null,
        websocket_url: leg.websocketUrl ?? null,
      };
      await db
        .insertInto('external_media_legs')
        .values({ call_id: leg.callId, ...values, ...creationTimestamps() })
        .onConflict((conflict) => conflict.column('call_id').doUpdateSet({ ...values, ...updateTimestamps() }))
        .execute();
    },

    async removeMediaLeg(callId, channelId) {
      await db.deleteFrom('external_media_legs').where('call_id', '=', callId).where('channel_id', '=', channelId).execute();
    },

    async mediaLegs() {
      const rows = await db.selectFrom('external_media_legs').selectAll().execute();
      return rows.map(
        (row): StoredMediaLeg => ({
          callId: row.call_id,
          callerChannelId: row.caller_channel_id,
          channelId: row.channel_id,
          bridgeId: row.bridge_id,
          transport: row.transport === 'websocket' ? 'websocket' : 'rtp',
          pending: row.pending,
          ...(row.local_address === null ? {} : { localAddress: row.local_address }),
          ...(row.local_port === null ? {} : { localPort: row.local_port }),
          ...(row.websocket_url === null ? {} : { websocketUrl: row.websocket_url }),
        }),
      );
    },

    async saveObject(object) {
      const values = { caller_channel_id: object.callerChannelId, channel_ids: jsonb(object.channelIds), bridge_id: object.bridgeId ?? null };
      await db
        .insertInto('telephony_objects')
        .values({ id: object.id, kind: object.kind, call_id: object.callId ?? null, ...values, tm_create: currentTimestamp() })
        .onConflict((conflict) => conflict.column('id').doUpdateSet(values))
        .execute();
    },

    async removeObject(id) {
      await db.deleteFrom('telephony_objects').where('id', '=', id).execute();
    },

    async objects() {
      const rows = await db.selectFrom('telephony_objects').selectAll().execute();
      return rows.map(
        (row): StoredObject => ({
          id: row.id,
          kind: row.kind,
          callId: row.call_id ?? undefined,
          callerChannelId: row.caller_channel_id,
          channelIds: row.channel_ids,
          bridgeId: row.bridge_id ?? undefined,
        }),
      );
    },

    async customerBridges() {
      const rows = await db.selectFrom('bridges').select('control_id').where('tm_delete', 'is', null).execute();
      return new Set(rows.map((row) => row.control_id));
    },

    async forgetCustomerBridges(controlIds) {
      await db.updateTable('bridges').set(deletionTimestamps()).where('control_id', 'in', controlIds).where('tm_delete', 'is', null).execute();
    },

    async sessionLive(callId) {
      const call = await findCall(db, callId);
      if (!call || call.status === 'hangup' || !call.activeflow_id) return false;
      const activeflow = await findActiveflow(db, call.activeflow_id);
      const aicallId = activeflow?.variables['voipbin.aicall.id'];
      if (!activeflow || activeflow.status === 'ended' || !aicallId) return false;
      if (!activeflow.stacks.some((stack) => stack.id === aicallId)) return false;
      try {
        const aicall = await rpcCall<Pick<Aicall, 'status'>>(
          context.bus,
          'ai-manager',
          'GET',
          `/v1/aicalls/${encodeURIComponent(aicallId)}?customer_id=${call.customer_id}`,
          undefined,
          { timeoutMs: aiManagerTimeoutMs, publisher: 'flow-manager' },
        );
        return aicall.status !== 'terminating' && aicall.status !== 'terminated';
      } catch (error) {
        if (isAppError(error) && error.status === 'NOT_FOUND') return false;
        context.logger.warn({ err: error, callId, aicallId }, 'could not ask ai-manager whether a session is live; keeping its media leg');
        return true;
      }
    },
  };
}
