import type { Caller } from './scripted-caller.ts';

/**
 * How the called party of an originated call behaves. Each rings first (`Dial RINGING`):
 * - `answer`: answers after `afterMs` (default 0): `Dial ANSWER`, then StasisStart;
 * - `busy`: after `afterMs` (default 0) refuses busy: `ChannelHangupRequest {cause: 17}`,
 *   `Dial BUSY`, `ChannelDestroyed`;
 * - `reject`: after `afterMs` (default 0) the call fails with `cause` (default 21, Call
 *   Rejected; 34 congestion, 1 unallocated number, 38 network out of order, ...);
 * - `ring`: rings until the originate's `timeout` passes (`ChannelDestroyed {cause: 19}` only)
 *   or the application hangs up.
 */
export type OutboundBehaviour =
  | { kind: 'answer'; afterMs?: number }
  | { kind: 'busy'; afterMs?: number }
  | { kind: 'reject'; afterMs?: number; cause?: number }
  | { kind: 'ring' };

/** Which originates a script applies to: the endpoint (`PJSIP/+15551234`), or its resource after the `/` (`+15551234`). */
export type EndpointMatch = string | RegExp;

interface Script {
  match: EndpointMatch;
  behaviour: OutboundBehaviour;
}

export function endpointMatches(match: EndpointMatch, endpoint: string): boolean {
  if (typeof match !== 'string') return match.test(endpoint);
  return endpoint === match || endpoint.slice(endpoint.indexOf('/') + 1) === match;
}

/** Per-destination behaviours of called parties, set by tests; the latest matching script wins. */
export class OutboundScripts {
  private readonly scripts: Script[] = [];

  /** Adds a script; the returned function removes it. */
  add(match: EndpointMatch, behaviour: OutboundBehaviour): () => void {
    const script = { match, behaviour };
    this.scripts.push(script);
    return () => {
      const index = this.scripts.indexOf(script);
      if (index >= 0) this.scripts.splice(index, 1);
    };
  }

  find(endpoint: string): OutboundBehaviour | undefined {
    for (let index = this.scripts.length - 1; index >= 0; index--) {
      const script = this.scripts[index]!;
      if (endpointMatches(script.match, endpoint)) return script.behaviour;
    }
    return undefined;
  }

  /** Plays a behaviour on a called party that has started ringing; returns its timer (unref'd) if any. */
  static apply(behaviour: OutboundBehaviour, caller: Caller): NodeJS.Timeout | undefined {
    if (behaviour.kind === 'ring') return undefined;
    const act = () => {
      if (caller.ended) return;
      if (behaviour.kind === 'answer') caller.answer();
      else if (behaviour.kind === 'busy') caller.hangup(17);
      else caller.hangup(behaviour.cause ?? 21);
    };
    return setTimeout(act, behaviour.afterMs ?? 0).unref();
  }
}
