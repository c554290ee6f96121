import { EventEmitter } from 'node:events';
import type { Logger } from '@avp/shared';
import { EventHub } from '../ari/event-hub.ts';
import { MediaClock } from '../media/media-clock.ts';
import { runMediaTick } from '../media/media-engine.ts';
import { Bridge } from './bridge.ts';
import { causeText, dialStatusFor } from './causes.ts';
import { Channel, type ChannelInit } from './channel.ts';
import type { MediaLibrary } from './media-library.ts';
import type { Playback } from './playback.ts';
import { Recordings } from './recordings.ts';

export interface HangupOptions {
  cause: number;
  /** ARI-requested hangups are soft (ChannelHangupRequest `soft: true`). */
  soft?: boolean;
  /** The cause reported in ChannelHangupRequest when it differs from the final one. */
  requestCause?: number;
  /** chan_websocket reports the WebSocket close status as tech_cause. */
  techCause?: number;
  /**
   * False when the core destroys the channel without a hang-up request: a dial that times out
   * gives only ChannelDestroyed (cause 19), no ChannelHangupRequest and no final Dial event.
   */
  requested?: boolean;
}

/** Where a playback plays: to a channel's far end, or into a bridge. */
export type PlaybackOwner = { kind: 'channel'; channel: Channel } | { kind: 'bridge'; bridge: Bridge };

/**
 * The simulated Asterisk: channels, bridges, playbacks and Stasis applications, and the
 * transitions between them with the events Asterisk emits, in Asterisk's order.
 */
export class Asterisk extends EventEmitter<{ channelCreated: [Channel]; channelDestroyed: [Channel] }> {
  readonly channels = new Map<string, Channel>();
  /**
   * Snoops hung up (over ARI) while their target lives. Asterisk destroys such a snoop only when
   * its audiohook is detached, i.e. when the next frame passes the target (or the target ends):
   * until then GET /channels still lists it, though it has left the app and ARI cannot hang it
   * up again (404).
   */
  readonly endedSnoops = new Map<string, Channel>();
  readonly bridges = new Map<string, Bridge>();
  readonly playbacks = new Map<string, { playback: Playback; owner: PlaybackOwner }>();
  readonly hub: EventHub;
  readonly clock: MediaClock;
  readonly recordings: Recordings;

  constructor(
    readonly asteriskId: string,
    readonly media: MediaLibrary,
    readonly logger: Logger,
  ) {
    super();
    this.hub = new EventHub(asteriskId);
    this.recordings = new Recordings(this.hub, (channel) => this.answer(channel));
    this.clock = new MediaClock((now) => runMediaTick(this, now));
  }

  createChannel(init: ChannelInit, app?: string): Channel {
    const channel = new Channel(init);
    if (app) {
      // Created over ARI for this application: subscribed until destroyed.
      channel.app = app;
      channel.subscribedApps.add(app);
      channel.createdByAri = true;
    }
    this.channels.set(channel.id, channel);
    this.clock.start();
    this.emit('channelCreated', channel);
    return channel;
  }

  /** What GET /channels lists: the live channels and the ended snoops Asterisk has not destroyed yet. */
  listedChannels(): Channel[] {
    return [...this.channels.values(), ...this.endedSnoops.values()];
  }

  publishChannelEvent(channel: Channel, type: string, fields: Record<string, unknown> = {}): void {
    if (channel.destroyed) return;
    this.hub.publish(channel.subscribedApps, { type, ...fields, channel: channel.toJson() });
  }

  /** Puts a channel into a Stasis application (the StasisStart moment). */
  enterStasis(channel: Channel, app: string, args: string[]): void {
    channel.app = app;
    channel.dialplan = { ...channel.dialplan, app_name: 'Stasis', app_data: [app, ...args].join(',') };
    // Stasis clears STASISSTATUS before the app subscribes: only an app that created the channel
    // over ARI (subscribed already) hears that ChannelVarset; a dialplan or snoop channel's
    // first event in the app is its StasisStart.
    channel.variables.set('STASISSTATUS', '');
    this.publishChannelEvent(channel, 'ChannelVarset', { variable: 'STASISSTATUS', value: '' });
    channel.subscribedApps.add(app);
    channel.inStasis = true;
    this.publishChannelEvent(channel, 'StasisStart', { args });
  }

  setState(channel: Channel, state: Channel['state']): void {
    if (channel.state === state) return;
    channel.state = state;
    this.publishChannelEvent(channel, 'ChannelStateChange');
  }

  answer(channel: Channel): void {
    if (channel.state === 'Up' || channel.hangingUp) return;
    this.setState(channel, 'Up');
    channel.farEnd.answered?.();
  }

  /** An outgoing dial starts: Dial with an empty status; the channel waits for an answer. */
  startDial(channel: Channel, dialstring: string): void {
    channel.pendingDial = { dialstring };
    this.publishDial(channel, '', dialstring);
  }

  /** The far end of an outgoing call rings (ChannelStateChange Ringing, Dial RINGING). */
  ringDial(channel: Channel): void {
    if (!channel.pendingDial || channel.state === 'Ringing') return;
    this.setState(channel, 'Ringing');
    this.publishDial(channel, 'RINGING', channel.pendingDial.dialstring);
  }

  /** The far end answers: ChannelStateChange Up, then Dial ANSWER. */
  answerDial(channel: Channel): void {
    const dial = channel.pendingDial;
    if (!dial || channel.hangingUp) return;
    channel.pendingDial = undefined;
    this.answer(channel);
    this.publishDial(channel, 'ANSWER', dial.dialstring);
  }

  private publishDial(channel: Channel, dialstatus: string, dialstring: string): void {
    if (channel.destroyed) return;
    this.hub.publish(channel.subscribedApps, { type: 'Dial', dialstatus, forward: '', dialstring, peer: channel.toJson() });
  }

  setVariable(channel: Channel, name: string, value: string): void {
    channel.variables.set(name, value);
    this.publishChannelEvent(channel, 'ChannelVarset', { variable: name, value });
  }

  /** Hangs a channel up with Asterisk's event sequence; safe to call more than once. */
  hangup(channel: Channel, options: HangupOptions): void {
    if (channel.hangingUp) return;
    channel.hangingUp = true;
    const requested = options.requested ?? true;
    if (requested) {
      const request: Record<string, unknown> = { cause: options.requestCause ?? options.cause };
      if (options.soft) request.soft = true;
      if (options.techCause !== undefined) request.tech_cause = options.techCause;
      this.publishChannelEvent(channel, 'ChannelHangupRequest', request);
    }
    const dial = channel.pendingDial;
    channel.pendingDial = undefined;
    if (dial && requested) this.publishDial(channel, dialStatusFor(options.cause, options.soft ?? false), dial.dialstring);
    for (const playback of [...channel.playbacks]) this.finishPlayback(playback, 'done');
    if (channel.bridge) this.removeFromBridge(channel.bridge, channel);
    // The channel's reads fail: its recordings finish (RecordingFinished) before its StasisEnd.
    this.recordings.channelGone(channel);
    if (channel.inStasis) {
      channel.inStasis = false;
      this.publishChannelEvent(channel, 'StasisEnd');
      // A channel that came from the dialplan leaves the application here: nothing more is sent.
      if (!channel.createdByAri && channel.app) channel.subscribedApps.delete(channel.app);
      channel.variables.set('STASISSTATUS', 'SUCCESS');
      this.publishChannelEvent(channel, 'ChannelVarset', { variable: 'STASISSTATUS', value: 'SUCCESS' });
    }
    const destroyed: Record<string, unknown> = { cause: options.cause, cause_txt: causeText(options.cause) };
    if (options.techCause !== undefined) destroyed.tech_cause = options.techCause;
    this.publishChannelEvent(channel, 'ChannelDestroyed', destroyed);
    channel.destroyed = true;
    this.channels.delete(channel.id);
    if (channel.snoop && !channel.snoop.target.destroyed) this.endedSnoops.set(channel.id, channel);
    channel.farEnd.close();
    this.emit('channelDestroyed', channel);
    // A snoop ends with its target, without a hang-up request: its audiohook stops, and the snoop
    // channel's next read fails (the app sees ChannelLeftBridge and StasisEnd, nothing more).
    for (const other of [...this.channels.values()]) {
      if (other.snoop?.target === channel) this.hangup(other, { cause: 16, requested: false });
    }
    for (const [id, snoop] of this.endedSnoops) if (snoop.snoop?.target === channel) this.endedSnoops.delete(id);
    this.stopClockWhenIdle();
  }

  createBridge(id: string, name: string, type: string): Bridge {
    const bridge = new Bridge(id, name, type);
    this.bridges.set(id, bridge);
    return bridge;
  }

  publishBridgeEvent(bridge: Bridge, type: string, fields: Record<string, unknown> = {}): void {
    this.hub.publish(bridge.subscribedApps, { type, ...fields, bridge: bridge.toJson() });
  }

  addToBridge(bridge: Bridge, channel: Channel, options: { muted?: boolean; absorbDtmf?: boolean; role?: string } = {}): void {
    if (bridge.has(channel)) return;
    if (channel.bridge) this.removeFromBridge(channel.bridge, channel);
    bridge.members.push({
      channel,
      muted: options.muted ?? false,
      absorbDtmf: options.absorbDtmf ?? false,
      role: options.role ?? '',
    });
    channel.bridge = bridge;
    for (const app of channel.subscribedApps) bridge.subscribedApps.add(app);
    this.hub.publish(new Set([...bridge.subscribedApps, ...channel.subscribedApps]), {
      type: 'ChannelEnteredBridge',
      bridge: bridge.toJson(),
      channel: channel.toJson(),
    });
  }

  removeFromBridge(bridge: Bridge, channel: Channel): boolean {
    const index = bridge.members.findIndex((member) => member.channel === channel);
    if (index < 0) return false;
    bridge.members.splice(index, 1);
    channel.bridge = undefined;
    this.hub.publish(new Set([...bridge.subscribedApps, ...channel.subscribedApps]), {
      type: 'ChannelLeftBridge',
      bridge: bridge.toJson(),
      channel: channel.toJson(),
    });
    return true;
  }

  destroyBridge(bridge: Bridge): void {
    if (bridge.destroyed) return;
    for (const member of [...bridge.members]) this.removeFromBridge(bridge, member.channel);
    for (const playback of [...bridge.playbacks]) this.finishPlayback(playback, 'done');
    bridge.destroyed = true;
    this.bridges.delete(bridge.id);
    this.publishBridgeEvent(bridge, 'BridgeDestroyed');
  }

  /** DTMF that arrived from a channel's far end: ARI event, then on to the bridge peers. */
  dtmfFromFarEnd(channel: Channel, digit: string, durationMs: number): void {
    if (channel.destroyed) return;
    this.publishChannelEvent(channel, 'ChannelDtmfReceived', { digit, duration_ms: durationMs });
    this.recordings.dtmf(channel, digit);
    const bridge = channel.bridge;
    if (!bridge) return;
    const member = bridge.members.find((candidate) => candidate.channel === channel);
    if (member?.absorbDtmf) return;
    for (const other of bridge.members) {
      if (other.channel !== channel) other.channel.farEnd.receiveDtmf?.(digit, durationMs);
    }
  }

  queuePlayback(playback: Playback, owner: PlaybackOwner): void {
    this.playbacks.set(playback.id, { playback, owner });
    if (owner.kind === 'channel') owner.channel.playbacks.push(playback);
    else owner.bridge.playbacks.push(playback);
    this.clock.start();
  }

  playbackApps(owner: PlaybackOwner): Set<string> {
    return owner.kind === 'channel' ? owner.channel.subscribedApps : owner.bridge.subscribedApps;
  }

  startPlayback(playback: Playback): void {
    const entry = this.playbacks.get(playback.id);
    if (!entry) return;
    playback.state = 'playing';
    this.hub.publish(this.playbackApps(entry.owner), { type: 'PlaybackStarted', playback: playback.toJson() });
  }

  /** One media URI of a list is over: PlaybackContinuing, then the next URI starts. */
  continuePlayback(playback: Playback): void {
    const entry = this.playbacks.get(playback.id);
    playback.state = 'continuing';
    if (entry) this.hub.publish(this.playbackApps(entry.owner), { type: 'PlaybackContinuing', playback: playback.toJson() });
    playback.advance();
  }

  finishPlayback(playback: Playback, state: 'done' | 'failed'): void {
    const entry = this.dropPlayback(playback);
    if (!entry) return;
    playback.state = state;
    this.hub.publish(this.playbackApps(entry.owner), { type: 'PlaybackFinished', playback: playback.toJson() });
  }

  /** Forgets a playback without PlaybackFinished (what Asterisk does after an unsupported URI). */
  dropPlayback(playback: Playback): { playback: Playback; owner: PlaybackOwner } | undefined {
    const entry = this.playbacks.get(playback.id);
    if (!entry) return undefined;
    this.playbacks.delete(playback.id);
    const list = entry.owner.kind === 'channel' ? entry.owner.channel.playbacks : entry.owner.bridge.playbacks;
    const index = list.indexOf(playback);
    if (index >= 0) list.splice(index, 1);
    return entry;
  }

  stopClockWhenIdle(): void {
    if (this.channels.size === 0 && this.playbacks.size === 0) this.clock.stop();
  }

  shutdown(): void {
    for (const channel of [...this.channels.values()]) this.hangup(channel, { cause: 16 });
    this.clock.stop();
    this.hub.closeAll();
  }
}
