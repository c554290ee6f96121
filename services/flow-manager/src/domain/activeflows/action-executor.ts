import { appError, callActionTypes, newId, validateActions, type Action, type PushedService } from '@avp/shared';
import { callHandle, findCall } from '../calls/call-store.ts';
import type { CallControl, CallHandle, ConnectOption, DigitsOption, TalkOption } from '../calls/call-control.ts';
import type { DomainContext } from '../context.ts';
import { setVariables } from '../variables/variables.ts';
import type { ActiveflowRow } from './activeflow-store.ts';
import type { ExecutionState } from './stack-machine.ts';

/** The services an action can start in another service (ai-manager), which may push actions. */
export type ServiceKind = 'aicall' | 'task' | 'summary' | 'transcribe' | 'transcribe_stop';

/** Starts a service for an action; ai-manager's RPC in production, a double in tests. */
export interface ServiceStarter {
  start(kind: ServiceKind, body: Record<string, unknown>): Promise<PushedService>;
}

/** Recordings of calls, for `recording_start` / `recording_stop`. */
export interface CallRecorder {
  start(customerId: string, callId: string): Promise<{ id: string }>;
  /** Stops the call's running recordings. */
  stopCall(customerId: string, callId: string): Promise<void>;
}

/** External media streams, for `external_media_start` / `external_media_stop` (src/media-streams). */
export interface FlowExternalMedia {
  /** Starts a stream on the flow's call; `done` resolves when it has ended. A stream that could not start resolves ended. */
  startForFlow(customerId: string, callId: string, activeflowId: string, option: Record<string, unknown>): Promise<{ id: string; url: string; done: Promise<void> }>;
  /** Ends the call's stream, if one runs. */
  stopCall(customerId: string, callId: string): Promise<void>;
}

/** What running one action leads to. */
export type Outcome =
  | { kind: 'next' }
  | { kind: 'jump'; actionId: string }
  | { kind: 'push'; stackId: string; actions: Action[] }
  | { kind: 'wait' }
  | { kind: 'end'; reason: string; hangup: boolean };

/** An activeflow as it is being worked on: its row and the state, variables and counts to save. */
export interface Working {
  row: ActiveflowRow;
  state: ExecutionState;
  variables: Record<string, string>;
  gotoCounts: Record<string, number>;
  executeCount: number;
}

/**
 * Executes single actions for the ActiveflowRunner: call actions through CallControl,
 * variables and jumps on the working copy, AI actions by starting a service. It decides
 * where an action leads; the runner applies that and saves.
 */
export class ActionExecutor {
  /** Activeflows running their own `hangup` action: the call's end is theirs, not a stop. */
  private readonly hangingUp = new Set<string>();

  constructor(
    private readonly context: DomainContext,
    private readonly calls: CallControl,
    private readonly services: ServiceStarter,
    private readonly recordings?: CallRecorder,
    private readonly externalMedia?: FlowExternalMedia,
  ) {}

  /** Whether the activeflow is running its own `hangup` action right now. */
  isHangingUp(id: string): boolean {
    return this.hangingUp.has(id);
  }

  /** Runs one action (its option already substituted) on the working copy; answers where it leads. */
  async execute(working: Working, action: Action, signal: AbortSignal): Promise<Outcome> {
    const call = callActionTypes.includes(action.type) ? await this.requireCall(working.row) : undefined;
    switch (action.type) {
      case 'answer':
        await this.calls.answer(call!);
        return { kind: 'next' };
      case 'talk':
        await this.calls.talk(call!, action.option as TalkOption, signal);
        return { kind: 'next' };
      case 'play':
        await this.calls.play(call!, (action.option as { stream_urls: string[] }).stream_urls, signal);
        return { kind: 'next' };
      case 'hangup':
        this.hangingUp.add(working.row.id);
        try {
          await this.calls.hangup(call!, String(action.option.reason ?? 'normal'));
        } finally {
          this.hangingUp.delete(working.row.id);
        }
        return { kind: 'end', reason: 'hangup action', hangup: false };
      case 'connect': {
        const result = await this.calls.connect(call!, action.option as ConnectOption, signal);
        working.variables = setVariables(working.variables, { 'voipbin.connect.answered': String(result.answered) });
        return { kind: 'next' };
      }
      case 'digits_receive': {
        const digits = await this.calls.collectDigits(call!, action.option as DigitsOption, signal);
        working.variables = setVariables(working.variables, { 'voipbin.call.digits': digits });
        return { kind: 'next' };
      }
      case 'variable_set': {
        const { key, value } = action.option as { key: string; value: string };
        working.variables = setVariables(working.variables, { [key]: value });
        return { kind: 'next' };
      }
      case 'branch': {
        const option = action.option as { variable: string; target_ids: Record<string, string>; default_target_id?: string };
        const value = working.variables[option.variable] ?? '';
        const target = option.target_ids[value] ?? option.default_target_id;
        return target ? { kind: 'jump', actionId: target } : { kind: 'next' };
      }
      case 'goto': {
        const option = action.option as { target_id: string; loop_count: number };
        const done = working.gotoCounts[action.id] ?? 0;
        if (done >= option.loop_count) return { kind: 'next' };
        working.gotoCounts = { ...working.gotoCounts, [action.id]: done + 1 };
        return { kind: 'jump', actionId: option.target_id };
      }
      case 'block':
        return { kind: 'wait' };
      case 'ai_talk':
      case 'ai':
      case 'ai_task':
        return this.startService(working, action.type === 'ai_task' ? 'task' : 'aicall', action);
      case 'ai_summary':
        return this.startService(working, 'summary', action);
      case 'transcribe_start':
      case 'transcribe_stop': {
        // ai-manager runs it and answers at once (a recogniser that cannot start is logged there):
        // the flow goes on either way.
        const kind = action.type === 'transcribe_start' ? 'transcribe' : 'transcribe_stop';
        const service = await this.services.start(kind, { customer_id: working.row.customer_id, activeflow_id: working.row.id, reference_id: call!.id, ...action.option });
        if (kind === 'transcribe' && service.id) working.variables = setVariables(working.variables, { 'voipbin.transcribe.id': service.id });
        return { kind: 'next' };
      }
      case 'recording_start': {
        // Like a transcription, a recording that cannot start does not stop the call's flow:
        // the recording is stored as `failed` with the reason, and the flow goes on.
        const recording = await this.recorder()
          .start(working.row.customer_id, call!.id)
          .catch((error: unknown) => this.context.logger.warn({ err: error, activeflowId: working.row.id }, 'recording_start: the recording did not start'));
        if (recording) working.variables = setVariables(working.variables, { 'voipbin.recording.id': recording.id });
        return { kind: 'next' };
      }
      case 'recording_stop':
        await this.recorder().stopCall(working.row.customer_id, call!.id);
        return { kind: 'next' };
      case 'external_media_start': {
        const option = action.option as { direction?: string; wait?: boolean };
        const started = await this.mediaStreams().startForFlow(working.row.customer_id, call!.id, working.row.id, action.option);
        working.variables = setVariables(working.variables, {
          'voipbin.external_media.id': started.id,
          ...(option.direction === 'dial_in' ? { 'voipbin.external_media.url': started.url } : {}),
        });
        // With `wait` the flow stays here while the stream runs; a hard stop ends the stream.
        if (option.wait !== false) await untilDoneOrAborted(started.done, signal, () => this.mediaStreams().stopCall(working.row.customer_id, call!.id));
        return { kind: 'next' };
      }
      case 'external_media_stop':
        await this.mediaStreams().stopCall(working.row.customer_id, call!.id);
        return { kind: 'next' };
    }
  }

  private async startService(working: Working, kind: ServiceKind, action: Action): Promise<Outcome> {
    const { row } = working;
    // An action with inline AI settings runs the hidden AI they were saved as (`inline_ai_id`, flows/inline-ais.ts).
    const option = action.option as { ai_id?: string; assistance_type?: string; assistance_id?: string; inline_ai_id?: string; duration?: number };
    const body: Record<string, unknown> = {
      customer_id: row.customer_id,
      activeflow_id: row.id,
      reference_type: row.reference_type === 'conversation' ? 'conversation' : row.reference_type === 'call' ? 'call' : row.reference_type,
      reference_id: row.reference_id,
    };
    // A summary's reference is its option's (ai-manager takes the flow's own call when it names none).
    if (kind === 'summary') Object.assign(body, { reference_type: undefined, reference_id: undefined }, action.option);
    // `duration`: the AI session's time limit in seconds (ai-manager enforces it; 0 or absent = none).
    else Object.assign(body, { assistance_type: option.assistance_type ?? 'ai', assistance_id: option.assistance_id ?? option.ai_id ?? option.inline_ai_id, ...(option.duration ? { duration: option.duration } : {}) });
    const service = await this.services.start(kind, body);
    // A summary that could not be asked for is logged by ai-manager; the flow goes on without it.
    if (kind === 'summary' && service.id === '') return { kind: 'next' };
    if (service.id === '') throw appError('INVALID_STATE', `The ${kind} service did not start.`);
    const actions = checkedPushActions(service.push_actions);
    const idVariable = kind === 'summary' ? 'voipbin.ai_summary.id' : 'voipbin.aicall.id';
    working.variables = setVariables(working.variables, { [idVariable]: service.id });
    return { kind: 'push', stackId: service.id, actions };
  }

  private mediaStreams(): FlowExternalMedia {
    if (!this.externalMedia) throw appError('SERVICE_UNAVAILABLE', 'External media streams are not available here.');
    return this.externalMedia;
  }

  private recorder(): CallRecorder {
    if (!this.recordings) throw appError('SERVICE_UNAVAILABLE', 'Recordings are not available here.');
    return this.recordings;
  }

  private async requireCall(row: ActiveflowRow): Promise<CallHandle> {
    if (row.reference_type !== 'call' || !row.reference_id) {
      throw appError('INVALID_STATE', `This action needs a call, and the activeflow runs for ${row.reference_type}.`);
    }
    const call = await findCall(this.context.db, row.reference_id);
    if (!call || call.status === 'hangup') throw appError('INVALID_STATE', 'The call has ended.');
    return callHandle(call);
  }
}

/** Validates actions a service pushed; ids are kept (a block's id is the service's id). */
export function checkedPushActions(inputs: unknown[]): Action[] {
  const result = validateActions(inputs, newId);
  if (result.actions) return result.actions;
  const message = result.problems.map((problem) => `[${problem.index}] (${problem.type}): ${problem.message}`).join('; ');
  throw appError('VALIDATION_FAILED', `The pushed actions are not valid: ${message}`);
}

/** Waits for `done`; when `signal` aborts first, runs `stop` and waits for `done` after all. */
async function untilDoneOrAborted(done: Promise<void>, signal: AbortSignal, stop: () => Promise<void>): Promise<void> {
  if (signal.aborted) {
    await stop();
    return;
  }
  const onAbort = () => void stop();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await done;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
