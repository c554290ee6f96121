import { appError, HostUnresolvedError, OutboundRefusedError, type Action, type OutboundPolicy } from '@avp/shared';
import type { CallControl, CallHandle, ConnectOption, DigitsOption, ExternalMedia, ExternalMediaRequest, OriginateRequest, SnoopMedia, SnoopMediaRequest, TalkOption } from './call-control.ts';

/**
 * `play` hands its URLs to Asterisk, which fetches `http(s)://` media itself (also when given
 * as `sound:http(s)://...`, the form Asterisk plays): from inside the platform's network, so a
 * customer's URL there is an outbound request like a webhook and follows the same rule. Other
 * media URIs (`sound:<name>`, `tone:`, `digits:` ...) name Asterisk's own media and are not
 * fetched. Answers the URL Asterisk would fetch, or undefined.
 */
function fetchedUrl(url: string): string | undefined {
  const trimmed = url.trim().replace(/^sound:/i, '');
  return /^https?:/i.test(trimmed) ? trimmed : undefined;
}

/**
 * Save-time check of the `play` actions of a flow or of inline actions: every http(s) URL
 * must be one the platform may call (400 naming the action and URL otherwise). A URL with a
 * `${variable}` placeholder can only be judged once it is filled in, when the action runs.
 */
export async function checkPlayActions(policy: OutboundPolicy, actions: readonly Action[]): Promise<void> {
  const problems: string[] = [];
  for (const [index, action] of actions.entries()) {
    // An external media stream's engine URL follows the same rule (the platform dials it).
    if (action.type === 'external_media_start') {
      const url = (action.option as { url?: string }).url;
      if (url === undefined || url.includes('${')) continue;
      const refusal = await refusalOf(policy, url.trim().replace(/^ws(s?):/i, 'http$1:'));
      if (refusal) problems.push(`actions[${index}] (external_media_start): option.url: ${refusal}`);
      continue;
    }
    if (action.type !== 'play') continue;
    const urls = (action.option as { stream_urls: string[] }).stream_urls;
    for (const [position, url] of urls.entries()) {
      const fetched = fetchedUrl(url);
      if (!fetched || url.includes('${')) continue;
      const refusal = await refusalOf(policy, fetched);
      if (refusal) problems.push(`actions[${index}] (play): option.stream_urls[${position}]: ${refusal}`);
    }
  }
  if (problems.length > 0) throw appError('VALIDATION_FAILED', `Invalid flow actions: ${problems.join('; ')}`, { problems });
}

async function refusalOf(policy: OutboundPolicy, url: string): Promise<string | undefined> {
  try {
    await policy.checkUrl(url.trim());
    return undefined;
  } catch (error) {
    if (error instanceof OutboundRefusedError || error instanceof HostUnresolvedError) return error.message;
    throw error;
  }
}

/**
 * Call control whose `play` checks its http(s) URLs first (run time: placeholders are filled
 * in, and the host is resolved again), whatever asks for the playback: a flow's action or
 * the RPC route. Asterisk resolves the name once more when it fetches, so a rebinding within
 * that moment is not caught here; see the README's Security section.
 */
export class MediaUrlGuard implements CallControl {
  constructor(
    private readonly control: CallControl,
    private readonly policy: OutboundPolicy,
  ) {}

  async play(call: CallHandle, urls: string[], signal: AbortSignal): Promise<void> {
    for (const [position, url] of urls.entries()) {
      const fetched = fetchedUrl(url);
      if (!fetched) continue;
      const refusal = await refusalOf(this.policy, fetched);
      if (refusal) throw appError('VALIDATION_FAILED', `stream_urls[${position}]: ${refusal}`);
    }
    await this.control.play(call, urls, signal);
  }

  answer(call: CallHandle): Promise<void> {
    return this.control.answer(call);
  }

  talk(call: CallHandle, option: TalkOption, signal: AbortSignal): Promise<void> {
    return this.control.talk(call, option, signal);
  }

  hangup(call: CallHandle, reason: string): Promise<void> {
    return this.control.hangup(call, reason);
  }

  connect(call: CallHandle, option: ConnectOption, signal: AbortSignal): Promise<{ answered: boolean }> {
    return this.control.connect(call, option, signal);
  }

  originate(request: OriginateRequest): Promise<void> {
    return this.control.originate(request);
  }

  collectDigits(call: CallHandle, option: DigitsOption, signal: AbortSignal): Promise<string> {
    return this.control.collectDigits(call, option, signal);
  }

  startExternalMedia(call: CallHandle, request: ExternalMediaRequest): Promise<ExternalMedia> {
    return this.control.startExternalMedia(call, request);
  }

  attachExternalMedia(call: CallHandle): Promise<ExternalMedia> {
    return this.control.attachExternalMedia(call);
  }

  stopExternalMedia(call: CallHandle, channelId?: string): Promise<void> {
    return this.control.stopExternalMedia(call, channelId);
  }

  startSnoopMedia(call: CallHandle, request: SnoopMediaRequest): Promise<SnoopMedia> {
    return this.control.startSnoopMedia(call, request);
  }

  stopSnoopMedia(call: CallHandle, channelId: string): Promise<boolean> {
    return this.control.stopSnoopMedia(call, channelId);
  }

  startRecording(call: CallHandle, recordingId: string): Promise<void> {
    return this.control.startRecording(call, recordingId);
  }

  stopRecording(call: CallHandle, recordingId: string): Promise<boolean> {
    return this.control.stopRecording(call, recordingId);
  }

  stopMedia(call: CallHandle): Promise<void> {
    return this.control.stopMedia(call);
  }

  createBridge(name: string): Promise<string> {
    return this.control.createBridge(name);
  }

  addToBridge(bridgeId: string, calls: CallHandle[]): Promise<void> {
    return this.control.addToBridge(bridgeId, calls);
  }

  removeFromBridge(bridgeId: string, calls: CallHandle[]): Promise<void> {
    return this.control.removeFromBridge(bridgeId, calls);
  }

  destroyBridge(bridgeId: string): Promise<void> {
    return this.control.destroyBridge(bridgeId);
  }
}
