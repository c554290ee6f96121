import type { FarEnd } from './far-end.ts';
import { SampleFifo } from '../media/sample-fifo.ts';
import type { Bridge } from './bridge.ts';
import type { Playback } from './playback.ts';
import type { LiveRecording } from './recording.ts';
import { ENGINE_SAMPLE_RATE } from '../media/codecs.ts';
import { asteriskTimestamp } from './time.ts';

/** Channel states as ARI reports them. */
export type ChannelState = 'Down' | 'Rsrvd' | 'OffHook' | 'Dialing' | 'Ring' | 'Ringing' | 'Up' | 'Busy';

export interface PartyId {
  name: string;
  number: string;
}

export interface Dialplan {
  context: string;
  exten: string;
  priority: number;
  app_name: string;
  app_data: string;
}

/** The ARI Channel resource (channels.json `Channel`). */
export interface ChannelJson {
  id: string;
  name: string;
  state: ChannelState;
  protocol_id: string;
  caller: PartyId;
  connected: PartyId;
  accountcode: string;
  dialplan: Dialplan;
  creationtime: string;
  language: string;
  channelvars?: Record<string, string>;
}

export interface ChannelInit {
  id: string;
  name: string;
  state: ChannelState;
  caller?: PartyId;
  dialplan: Dialplan;
  farEnd: FarEnd;
  variables?: Record<string, string>;
}

/** One Asterisk channel with its media far end and its place in Stasis and bridges. */
export class Channel {
  readonly id: string;
  name: string;
  state: ChannelState;
  caller: PartyId;
  connected: PartyId = { name: '', number: '' };
  dialplan: Dialplan;
  readonly creationtime = asteriskTimestamp();
  readonly variables = new Map<string, string>();
  farEnd: FarEnd;
  /** The Stasis application the channel is in (or will enter after answer). */
  app: string | undefined;
  /** Applications that receive this channel's events. */
  readonly subscribedApps = new Set<string>();
  /**
   * Whether the application's subscription outlives StasisEnd. Asterisk keeps channels that an
   * application created over ARI (originate, create, externalMedia) subscribed until they are
   * destroyed; a channel that entered Stasis from the dialplan, and a snoop channel (it enters
   * the app from a thread of its own, as a dialplan channel does), is unsubscribed at StasisEnd,
   * so the application hears nothing more about it (no ChannelDestroyed).
   */
  createdByAri = false;
  inStasis = false;
  /** An outgoing dial not yet answered (Dial "" sent): its dialstring, for the final Dial event. */
  pendingDial: { dialstring: string } | undefined;
  bridge: Bridge | undefined;
  /** Channel playbacks in order; the first one plays. */
  readonly playbacks: Playback[] = [];
  /** ARI recordings of this channel in order; the first records, the others wait their turn. */
  readonly recordings: LiveRecording[] = [];
  /** Audio injected by snoop whisper: towards the far end, and as if from the far end. */
  readonly whisperToFarEnd = new SampleFifo(ENGINE_SAMPLE_RATE);
  readonly whisperFromFarEnd = new SampleFifo(ENGINE_SAMPLE_RATE);
  /** Last tick's frames, for snoop channels. */
  lastFromFarEnd: Int16Array | null = null;
  lastToFarEnd: Int16Array | null = null;
  /** Set once hangup has started; no more events after ChannelDestroyed. */
  hangingUp = false;
  destroyed = false;
  /** Channel vars returned only in the create response of externalMedia (as Asterisk does). */
  responseChannelVars: Record<string, string> | undefined;
  /** Snoop target, for Snoop/ channels. */
  snoop: { target: Channel; spy: 'none' | 'in' | 'out' | 'both'; whisper: 'none' | 'in' | 'out' | 'both' } | undefined;

  constructor(init: ChannelInit) {
    this.id = init.id;
    this.name = init.name;
    this.state = init.state;
    this.caller = init.caller ?? { name: '', number: '' };
    this.dialplan = init.dialplan;
    this.farEnd = init.farEnd;
    for (const [key, value] of Object.entries(init.variables ?? {})) this.variables.set(key, value);
  }

  toJson(): ChannelJson {
    return {
      id: this.id,
      name: this.name,
      state: this.state,
      protocol_id: '',
      caller: { ...this.caller },
      connected: { ...this.connected },
      accountcode: '',
      dialplan: { ...this.dialplan },
      creationtime: this.creationtime,
      language: 'en',
    };
  }
}
