import type { Asterisk } from '../model/asterisk.ts';
import type { Channel } from '../model/channel.ts';
import type { Playback } from '../model/playback.ts';
import { ENGINE_FRAME_SAMPLES, mixFrames } from './codecs.ts';

/**
 * One 20 ms media tick for the whole simulated Asterisk:
 * 1. every channel's far end delivers what it sent this tick (snoop channels read their target,
 *    silence when it was quiet in the spied direction);
 * 2. every channel gets the mix of its bridge peers (never itself), bridge playbacks, its own
 *    playbacks and snoop whispers, and hands it to its far end; a bridged channel playing media
 *    of its own hears only that, and its far end is not heard in the bridge meanwhile.
 * A channel that nobody sends audio to gets `null` (Asterisk sends no RTP then either).
 */
export function runMediaTick(asterisk: Asterisk, _now: number): void {
  const channels = [...asterisk.channels.values()];
  const fromFarEnd = new Map<Channel, Int16Array | null>();
  for (const channel of channels) {
    if (channel.snoop || channel.destroyed) continue;
    const parts: Int16Array[] = [];
    const produced = channel.farEnd.produce();
    if (produced) parts.push(produced);
    const whisper = channel.whisperFromFarEnd.read(ENGINE_FRAME_SAMPLES, true);
    if (whisper) parts.push(whisper);
    const frame = parts.length > 0 ? mixFrames(parts) : null;
    channel.lastFromFarEnd = frame;
    fromFarEnd.set(channel, frame);
  }
  for (const channel of channels) {
    if (!channel.snoop) continue;
    const { target, spy } = channel.snoop;
    const parts: Int16Array[] = [];
    const heardFromTarget = fromFarEnd.get(target) ?? null;
    if ((spy === 'in' || spy === 'both') && heardFromTarget) parts.push(heardFromTarget);
    if ((spy === 'out' || spy === 'both') && target.lastToFarEnd) parts.push(target.lastToFarEnd);
    // A spying snoop reads a frame every 20 ms from its own timer, silence when nothing was heard
    // in its direction: the peer of a snoop leg gets a steady stream, unlike a bridged call's.
    fromFarEnd.set(channel, parts.length > 0 ? mixFrames(parts) : spy === 'none' ? null : new Int16Array(ENGINE_FRAME_SAMPLES));
  }

  // A recording writes what its channel read this tick (a snoop reads every 20 ms, silence included).
  const wallClock = Date.now();
  for (const channel of channels) {
    if (channel.recordings.length > 0 && !channel.destroyed) asterisk.recordings.tick(channel, fromFarEnd.get(channel) ?? null, wallClock);
  }

  // An ended snoop is destroyed once a frame passes its target (its audiohook is detached then).
  for (const [id, snoop] of asterisk.endedSnoops) {
    const target = snoop.snoop?.target;
    if (!target || fromFarEnd.get(target) || target.lastToFarEnd) asterisk.endedSnoops.delete(id);
  }

  const bridgeAudio = new Map<string, Int16Array | null>();
  for (const bridge of asterisk.bridges.values()) {
    bridgeAudio.set(bridge.id, nextPlaybackFrame(asterisk, bridge.playbacks));
  }

  for (const channel of channels) {
    if (channel.destroyed) continue;
    const parts: Int16Array[] = [];
    const bridge = channel.bridge;
    // As in Asterisk, a playback on a bridged channel runs in that channel's bridge thread: the
    // channel hears only the playback, and what its far end says does not reach the bridge.
    if (bridge && !isPlayingOwnMedia(channel)) {
      for (const member of bridge.members) {
        if (member.channel === channel || member.muted || isPlayingOwnMedia(member.channel)) continue;
        const frame = fromFarEnd.get(member.channel);
        if (frame) parts.push(frame);
      }
      const played = bridgeAudio.get(bridge.id);
      if (played) parts.push(played);
    }
    const own = nextPlaybackFrame(asterisk, channel.playbacks);
    if (own) parts.push(own);
    const whisper = channel.whisperToFarEnd.read(ENGINE_FRAME_SAMPLES, true);
    if (whisper) parts.push(whisper);
    const out = parts.length > 0 ? mixFrames(parts) : null;
    channel.lastToFarEnd = out;
    if (channel.snoop) {
      deliverWhisper(channel, out);
      continue;
    }
    channel.farEnd.consume(out);
  }
  asterisk.stopClockWhenIdle();
}

function isPlayingOwnMedia(channel: Channel): boolean {
  return channel.playbacks.length > 0;
}

function deliverWhisper(snoop: Channel, frame: Int16Array | null): void {
  if (!frame || !snoop.snoop) return;
  const { target, whisper } = snoop.snoop;
  if (whisper === 'out' || whisper === 'both') target.whisperToFarEnd.write(frame);
  if (whisper === 'in' || whisper === 'both') target.whisperFromFarEnd.write(frame);
}

/**
 * The next frame of the first playback in a list, publishing its events as Asterisk does:
 * PlaybackStarted for each media URI as its turn comes, PlaybackContinuing between URIs,
 * PlaybackFinished `done` or `failed` after the last. A URI with an unsupported scheme gets its
 * PlaybackStarted and no PlaybackFinished: the playback moves on to the next URI, or vanishes.
 */
function nextPlaybackFrame(asterisk: Asterisk, playbacks: Playback[]): Int16Array | null {
  for (;;) {
    const playback = playbacks[0];
    if (!playback) return null;
    if (playback.state === 'queued' || playback.state === 'continuing') asterisk.startPlayback(playback);
    if (playback.state === 'paused') return null;
    const resolution = playback.currentResolution();
    if (!resolution) return null;
    if (resolution.kind === 'unsupported') {
      if (!playback.hasNext) {
        asterisk.dropPlayback(playback);
        continue;
      }
      playback.advance();
      playback.state = 'queued';
      continue;
    }
    const frame = resolution.kind === 'failed' ? null : playback.nextFrame();
    if (frame) return frame;
    if (playback.hasNext) asterisk.continuePlayback(playback);
    else asterisk.finishPlayback(playback, resolution.kind === 'failed' ? 'failed' : 'done');
  }
}
