import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Aicall, Logger } from '@avp/shared';
import type { RawData, WebSocket } from 'ws';
import { terminateAicall } from '../domain/aicalls/aicall-service.ts';
import type { DomainContext } from '../domain/context.ts';
import { PcmFramer } from './pcm-framer.ts';

/** What web sessions need of the session service (session-service.ts). */
export interface WebSessionStarter {
  createWebSession(customerId: string, aiId: string): Promise<Aicall>;
  startWebPipeline(customerId: string, aicallId: string, mediaUrl: string): Promise<void>;
  endWebSession(customerId: string, aicallId: string, reason: string): Promise<void>;
}

export interface WebSessionsOptions {
  domain: DomainContext;
  sessions: WebSessionStarter;
  logger: Logger;
  /** How long the browser has to connect with its token (default 60 s); then the AIcall ends. */
  tokenTtlMs?: number;
  /**
   * Base URL (`ws://host:port`) pipeline-manager reaches this instance's relay at. Default: the
   * address the browser's connection arrived at (WEB_SESSION_RELAY_URL overrides it).
   */
  relayBaseUrl?: string;
}

/** A session created and waiting for its browser. */
interface Pending {
  customerId: string;
  tokenHash: Buffer;
  timer: NodeJS.Timeout;
}

/** A session whose browser is connected: the two sockets the relay joins. */
interface Live {
  aicallId: string;
  customerId: string;
  browser: WebSocket;
  pipeline: WebSocket | undefined;
  pipelineTokenHash: Buffer;
  framer: PcmFramer;
  ended: boolean;
}

/** The answer to `POST /v1.0/web_sessions`. */
export interface WebSessionTicket {
  aicall: Aicall;
  /** One-time: good for one connection to `media_url` before `expires_at`. */
  token: string;
  media_url: string;
  expires_at: string;
}

const hash = (token: string): Buffer => createHash('sha256').update(token).digest();
const sameHash = (a: Buffer, b: Buffer): boolean => a.length === b.length && timingSafeEqual(a, b);
const newToken = (): string => randomBytes(32).toString('base64url');

/**
 * Web sessions: an AI talking with a browser's microphone. The browser's socket lands on this
 * ai-manager instance; the session's pipeline (started once the browser is connected) dials
 * back to this instance's relay, which speaks Asterisk's WebSocket media protocol (MEDIA_START
 * with slin16, binary 20 ms frames both ways, FLUSH_MEDIA on a barge-in) so the pipeline reads
 * it exactly as an Asterisk media channel. Browser protocol: binary = 16 kHz mono PCM16
 * little-endian both ways; text from the server is JSON: `started`, `clear` (stop playing at
 * once: the caller barged in), `ended` with the reason, `error`. Tokens are one-time and kept
 * in this instance's memory, hashed.
 */
export class WebSessions {
  private readonly pending = new Map<string, Pending>();
  private readonly live = new Map<string, Live>();
  private readonly logger: Logger;

  constructor(private readonly options: WebSessionsOptions) {
    this.logger = options.logger.child({ component: 'web-sessions' });
  }

  /** Creates the AIcall and its one-time media token. */
  async create(customerId: string, aiId: string): Promise<WebSessionTicket> {
    const aicall = await this.options.sessions.createWebSession(customerId, aiId);
    const token = newToken();
    const ttlMs = this.options.tokenTtlMs ?? 60_000;
    const timer = setTimeout(() => {
      // Never connected: the session is over before it began.
      if (!this.pending.delete(aicall.id)) return;
      this.logger.info({ aicallId: aicall.id }, 'web session not connected in time; ending it');
      void terminateAicall(this.options.domain, customerId, aicall.id).catch((error: unknown) => this.logger.warn({ err: error, aicallId: aicall.id }, 'could not end the web session'));
    }, ttlMs);
    timer.unref();
    this.pending.set(aicall.id, { customerId, tokenHash: hash(token), timer });
    return {
      aicall,
      token,
      media_url: `/v1.0/web_sessions/${aicall.id}/media?token=${token}`,
      expires_at: new Date(Date.now() + ttlMs).toISOString(),
    };
  }

  /** Takes a session's token (once): the customer it belongs to, or undefined for a bad, used or expired one. */
  claim(aicallId: string, token: string): { customerId: string } | undefined {
    const entry = this.pending.get(aicallId.toLowerCase());
    if (!entry || !sameHash(entry.tokenHash, hash(token))) return undefined;
    this.pending.delete(aicallId.toLowerCase());
    clearTimeout(entry.timer);
    return { customerId: entry.customerId };
  }

  /** The browser connected with a claimed token: starts the pipeline, which dials the relay. */
  attachBrowser(browser: WebSocket, aicallId: string, customerId: string, localBaseUrl: string): void {
    const pipelineToken = newToken();
    const session: Live = { aicallId, customerId, browser, pipeline: undefined, pipelineTokenHash: hash(pipelineToken), framer: new PcmFramer(), ended: false };
    this.live.set(aicallId, session);
    browser.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary || !session.pipeline || session.pipeline.readyState !== session.pipeline.OPEN) return; // Before the pipeline listens, the microphone goes nowhere.
      for (const frame of session.framer.push(toBuffer(data))) session.pipeline.send(frame);
    });
    browser.on('close', () => void this.end(session, 'the browser closed the session'));
    browser.on('error', () => undefined);
    const base = (this.options.relayBaseUrl ?? localBaseUrl).replace(/\/+$/, '');
    const mediaUrl = `${base}/v1.0/web_sessions/${aicallId}/pipeline_media?token=${pipelineToken}`;
    this.options.sessions.startWebPipeline(customerId, aicallId, mediaUrl).then(
      () => sendJson(browser, { type: 'started', aicall_id: aicallId }),
      (error: unknown) => {
        sendJson(browser, { type: 'error', message: `The session could not start: ${error instanceof Error ? error.message : String(error)}` });
        void this.end(session, 'the session could not start');
      },
    );
  }

  /** The pipeline dialled the relay: true when the token is this live session's (once). */
  attachPipeline(pipeline: WebSocket, aicallId: string, token: string): boolean {
    const session = this.live.get(aicallId.toLowerCase());
    if (!session || session.pipeline || session.ended || !sameHash(session.pipelineTokenHash, hash(token))) return false;
    session.pipeline = pipeline;
    pipeline.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) {
        if (session.browser.readyState === session.browser.OPEN) session.browser.send(toBuffer(data));
        return;
      }
      // FLUSH_MEDIA: the caller talked over the AI; the page drops what it has queued. Other
      // commands (MARK_MEDIA, buffering) concern Asterisk's own queue and mean nothing here.
      if (/^\s*(\{.*"FLUSH_MEDIA"|FLUSH_MEDIA)/.test(data.toString())) sendJson(session.browser, { type: 'clear' });
    });
    pipeline.on('close', () => void this.end(session, 'the pipeline ended'));
    pipeline.on('error', () => undefined);
    pipeline.send(`MEDIA_START connection_id:${aicallId} channel_id:${aicallId} format:slin16 optimal_frame_size:640 ptime:20`);
    return true;
  }

  /** Ends every live session (shutdown). */
  async stopAll(): Promise<void> {
    for (const entry of this.pending.values()) clearTimeout(entry.timer);
    this.pending.clear();
    await Promise.allSettled([...this.live.values()].map((session) => this.end(session, 'ai-manager is shutting down')));
  }

  /** Either side left: the other socket closes, the pipeline stops and the AIcall ends. */
  private async end(session: Live, reason: string): Promise<void> {
    if (session.ended) return;
    session.ended = true;
    this.live.delete(session.aicallId);
    this.logger.info({ aicallId: session.aicallId, reason }, 'web session ended');
    sendJson(session.browser, { type: 'ended', reason });
    if (session.browser.readyState === session.browser.OPEN) session.browser.close(1000, 'session ended');
    if (session.pipeline && session.pipeline.readyState === session.pipeline.OPEN) session.pipeline.close(1000, 'session ended');
    try {
      await this.options.sessions.endWebSession(session.customerId, session.aicallId, reason);
    } catch (error) {
      this.logger.warn({ err: error, aicallId: session.aicallId }, 'could not end the web session');
    }
  }
}

function toBuffer(data: RawData): Buffer {
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
}

function sendJson(socket: WebSocket, message: Record<string, unknown>): void {
  if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
}
