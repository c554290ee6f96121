import { randomUUID } from 'node:crypto';
import { rpcCall, type Bus, type Logger } from '@avp/shared';
import type { ConversationEvent, TurnLatency } from '../pipeline/conversation.ts';
import type { PipelineStart } from './pipeline-start.ts';
import type { ReportOptions, ReportOutbox, ReportSend } from './report-outbox.ts';
import { latencyOf, usageFields } from './session-reports.ts';

/** What of a running pipeline its reports need. */
export interface ReportingSession {
  id: string;
  request: PipelineStart;
  intermediateId: string;
  intermediateSequence: number;
  /** Latencies of turns whose answer is not stored yet, by turn. */
  latencies: Map<number, TurnLatency>;
}

export interface ConversationReportsOptions {
  bus: Bus;
  logger: Logger;
  /** Publisher name for events and requests. */
  serviceName: string;
  reports: ReportOutbox;
}

/**
 * What a pipeline tells ai-manager and the bus, in order on the AIcall's report stream
 * (report-outbox.ts): its conversation's messages, streamed text, usage and events.
 */
export class ConversationReports {
  constructor(private readonly options: ConversationReportsOptions) {}

  /** Reports a conversation event (`ended` is not reported here: it ends the pipeline). */
  onEvent(session: ReportingSession, event: ConversationEvent): void {
    const { aicall_id: aicallId, customer_id: customerId, activeflow_id: activeflowId, pipeline_epoch: epoch } = session.request;
    switch (event.type) {
      case 'user_transcript':
        this.report(session, 'message', (reportId) =>
          this.aiManager('POST', '/v1/aimessages', {
            customer_id: customerId,
            aicall_id: aicallId,
            report_id: reportId,
            pipeline_epoch: epoch,
            role: 'user',
            direction: 'outgoing',
            content: event.text,
          }),
        );
        break;
      case 'assistant_text': {
        if (event.final) break;
        session.intermediateSequence++;
        // Taken now: the piece is sent later, when the answer may have moved on.
        const piece = {
          id: session.intermediateId,
          customer_id: customerId,
          aicall_id: aicallId,
          activeflow_id: activeflowId,
          active_ai_id: null,
          role: 'assistant',
          content: event.text,
          direction: 'incoming',
          sequence: session.intermediateSequence,
        };
        this.report(session, 'intermediate', (reportId) => this.aiManager('POST', '/v1/aimessages/intermediate', { ...piece, report_id: reportId, pipeline_epoch: epoch }));
        break;
      }
      case 'assistant_message': {
        session.intermediateId = randomUUID();
        session.intermediateSequence = 0;
        if (event.text === '' && event.toolCalls.length === 0) break;
        // The turn's latencies go with its first stored answer.
        const latency = latencyOf(session.latencies.get(event.turn));
        session.latencies.delete(event.turn);
        this.report(session, 'message', (reportId) =>
          this.aiManager('POST', '/v1/aimessages', {
            customer_id: customerId,
            aicall_id: aicallId,
            report_id: reportId,
            pipeline_epoch: epoch,
            role: 'assistant',
            direction: 'incoming',
            content: event.text,
            ...(latency ? { latency } : {}),
            tool_calls: event.toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } })),
          }),
        );
        break;
      }
      case 'tool_result':
        this.report(session, 'message', (reportId) =>
          this.aiManager('POST', '/v1/aimessages', {
            customer_id: customerId,
            aicall_id: aicallId,
            report_id: reportId,
            pipeline_epoch: epoch,
            role: 'tool',
            direction: 'outgoing',
            content: event.result,
            tool_call_id: event.call.id,
          }),
        );
        break;
      case 'usage': {
        // The usage id is the report's idempotency key: ai-manager charges a usage id once, so
        // a retry after a lost answer does not charge twice.
        const usage = { id: randomUUID(), customer_id: customerId, aicall_id: aicallId, pipeline_epoch: epoch, ...usageFields(event) };
        this.report(session, 'usage', () => this.aiManager('POST', '/v1/usages', usage), { id: usage.id });
        break;
      }
      case 'turn_latency':
        session.latencies.set(event.turn, event);
        this.report(session, 'event', () => this.publish(`pipeline_${event.type}`, { aicall_id: aicallId, ...event }));
        break;
      case 'barge_in':
        this.report(session, 'event', () => this.publish(`pipeline_${event.type}`, { aicall_id: aicallId, ...event }));
        break;
      case 'stall':
        // A provider gave nothing in time (stall-watchdog.ts): the operator sees what was done.
        this.options.logger.warn({ aicallId, turn: event.turn, stage: event.stage, action: event.action, provider: event.provider }, 'provider stalled');
        this.report(session, 'event', () => this.publish(`pipeline_${event.type}`, { aicall_id: aicallId, ...event }));
        break;
      default:
        break;
    }
  }

  /** Queues a report on the AIcall's ordered stream (report-outbox.ts): retried, never awaited here. */
  report(session: ReportingSession, kind: string, send: ReportSend, options?: ReportOptions): void {
    this.options.reports.add(session.id, kind, send, options);
  }

  aiManager(method: 'POST', uri: string, data: unknown): Promise<unknown> {
    return rpcCall(this.options.bus, 'ai-manager', method, uri, data, { publisher: this.options.serviceName, timeoutMs: 5000 });
  }

  private async publish(type: string, data: unknown): Promise<void> {
    await this.options.bus.publish(this.options.serviceName, { type, data }).catch((error: unknown) => {
      this.options.logger.warn({ err: error, type }, 'could not publish an event');
    });
  }
}
