import type { Channel } from './channel.ts';
import type { Playback } from './playback.ts';
import { asteriskTimestamp } from './time.ts';

/** The ARI Bridge resource (bridges.json `Bridge`). */
export interface BridgeJson {
  id: string;
  technology: string;
  bridge_type: string;
  bridge_class: string;
  creator: string;
  name: string;
  channels: string[];
  creationtime: string;
  video_mode: string;
}

export interface BridgeMember {
  channel: Channel;
  /** Muted members are heard by nobody (addChannel `mute=true`). */
  muted: boolean;
  /** absorbDTMF: DTMF from this member is not passed to the others. */
  absorbDtmf: boolean;
  role: string;
}

/** A mixing bridge: every member hears the sum of the other members plus bridge playbacks. */
export class Bridge {
  readonly creationtime = asteriskTimestamp();
  readonly members: BridgeMember[] = [];
  readonly playbacks: Playback[] = [];
  /** Applications that have had channels in this bridge (they receive its events). */
  readonly subscribedApps = new Set<string>();
  destroyed = false;

  constructor(
    readonly id: string,
    readonly name: string,
    readonly bridgeType: string,
  ) {}

  has(channel: Channel): boolean {
    return this.members.some((member) => member.channel === channel);
  }

  toJson(): BridgeJson {
    return {
      id: this.id,
      // Asterisk picks simple_bridge for two parties and softmix once a third joins.
      technology: this.members.length > 2 ? 'softmix' : 'simple_bridge',
      bridge_type: this.bridgeType,
      bridge_class: 'stasis',
      creator: 'Stasis',
      name: this.name,
      channels: this.members.map((member) => member.channel.id),
      creationtime: this.creationtime,
      video_mode: 'talker',
    };
  }
}
