import { appError } from '@avp/shared';
import type { PipelineStart } from '../sessions/pipeline-start.ts';
import type { MediaTransport } from './media-transport.ts';
import { connectWebSocketMedia } from './websocket-transport.ts';

/**
 * A web session's media: a browser's microphone, relayed by the ai-manager instance that holds
 * the browser's socket. ai-manager serves `media_url` speaking Asterisk's WebSocket media
 * protocol (MEDIA_START with slin16, 20 ms binary frames both ways, FLUSH_MEDIA on a barge-in),
 * so the pipeline reads it with the same transport as Asterisk's WebSocket channel; there is no
 * call and no leg to set up or remove.
 */
export async function connectWebMedia(request: PipelineStart, mediaStartTimeoutMs = 5000): Promise<MediaTransport> {
  if (!request.media_url) throw appError('VALIDATION_FAILED', 'media_url: required with the web media transport');
  return connectWebSocketMedia({ url: request.media_url, mediaStartTimeoutMs });
}
