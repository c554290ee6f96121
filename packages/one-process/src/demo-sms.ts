import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

/** What the person texting the demo's number sends, one message after the other's answer. */
export const demoSmsLines = ['Hello!', 'Ada', 'What time is it in your script?', 'bye'];

/**
 * The offline scripted engine's text conversation: it greets, asks the name, saves it as a flow
 * variable (set_variables), echoes until "bye", then says goodbye and ends the conversation
 * (stop_service). Each SMS is one turn: the script replays the stored history to find its place.
 */
export const demoSmsScript = {
  script: [
    { wait: 'answer' },
    { say: 'Hi! This is the offline assistant, answering by SMS. What is your name?' },
    { wait: 'answer', into: 'name' },
    { tool: 'set_variables', arguments: { variables: { customer_name: '${name}' } } },
    { say: 'Thanks, ${name}, I saved your name. Text me anything; text BYE to end.' },
    { label: 'echo' },
    { wait: 'answer' },
    { goto: 'bye', if: { variable: 'last_answer', matches: '\\bbye\\b' } },
    { say: 'You wrote: ${last_answer}' },
    { goto: 'echo' },
    { label: 'bye' },
    { say: 'Goodbye, ${name}!' },
    { end: true },
  ],
};

export interface DemoSmsResult {
  /** The messages both ways, in order: `in` from the person, `out` the AI's replies as the SMS API got them. */
  exchange: { direction: 'in' | 'out'; text: string }[];
  /** Each message's wait: from the webhook's answer to the reply reaching the SMS API. */
  replyMs: number[];
  conversationId: string;
  aicallIds: string[];
}

type Api = <T = Record<string, unknown>>(method: 'GET' | 'POST', url: string, body?: unknown) => Promise<T>;

/**
 * A Twilio-shaped SMS API on 127.0.0.1 standing for the vendor: it takes the platform's
 * `Messages.json` requests (the replies) and hands each to `onMessage`.
 */
async function startLoopbackSmsApi(onMessage: (form: Record<string, string>) => void): Promise<{ url: string; server: Server }> {
  let count = 0;
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const form = Object.fromEntries(new URLSearchParams(body));
      onMessage(form);
      response.writeHead(201, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ sid: `SMdemo${String(++count).padStart(28, '0')}`, status: 'queued', to: form.To, from: form.From, body: form.Body }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** Twilio's request signature: base64 HMAC-SHA1 over the URL and the sorted parameters. */
function twilioSignature(url: string, params: Record<string, string>, authToken: string): string {
  const data = Object.keys(params)
    .sort()
    .reduce((text, name) => text + name + params[name], url);
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

/**
 * The demo's SMS conversation: an SMS channel pointing at a loopback SMS API, a message flow
 * with ai_talk on the offline scripted engine, and a person texting the number; each inbound
 * message is posted to the channel's webhook signed as Twilio signs it, and each reply is
 * printed when the SMS API receives it.
 */
export async function runDemoSmsConversation(options: { url: string; api: Api; print: (line: string) => void; timeoutMs?: number }): Promise<DemoSmsResult> {
  const { api, print } = options;
  const timeoutMs = options.timeoutMs ?? 20_000;
  const person = '+15550142';
  const exchange: DemoSmsResult['exchange'] = [];
  let waiting: ((text: string) => void) | undefined;
  const started = performance.now();
  const clock = () => `[sms ${((performance.now() - started) / 1000).toFixed(1).padStart(4)} s]`;
  const smsApi = await startLoopbackSmsApi((form) => {
    const text = form.Body ?? '';
    exchange.push({ direction: 'out', text });
    print(`${clock()} AI -> ${form.To}: ${text}`);
    waiting?.(text);
  });
  try {
    const ai = await api<{ id: string }>('POST', '/v1.0/ais', {
      name: 'Demo SMS assistant',
      detail: 'Created by pnpm demo',
      engine_model: 'local.scripted',
      init_prompt: JSON.stringify(demoSmsScript),
      tool_names: ['set_variables', 'stop_service'],
    });
    const flow = await api<{ id: string }>('POST', '/v1.0/flows', { name: 'Demo SMS flow', actions: [{ type: 'ai_talk', option: { ai_id: ai.id } }] });
    const number = `+1555${String(Date.now() + 1).slice(-7)}`;
    await api('POST', '/v1.0/numbers', { number, message_flow_id: flow.id });
    const authToken = 'demo-sms-auth-token';
    const channel = await api<{ id: string; webhook_url: string }>('POST', '/v1.0/conversation_channels', {
      type: 'sms',
      name: 'Demo SMS (loopback Twilio-shaped API)',
      api_base_url: smsApi.url,
      account_sid: 'ACdemo',
      auth_token: authToken,
    });
    print(`Created an SMS channel ${channel.id} (POST /v1.0/conversation_channels); its webhook: ${channel.webhook_url}`);
    print(`Number ${number} runs the message flow ${flow.id}: ai_talk (offline scripted engine), the reply goes out through the channel`);
    print('');
    print(`Texting ${number} from ${person} ...`);

    const replyMs: number[] = [];
    for (const [index, text] of demoSmsLines.entries()) {
      const params = { MessageSid: `SMdemoin${String(index).padStart(26, '0')}${Date.now() % 100}`, AccountSid: 'ACdemo', From: person, To: number, Body: text, NumMedia: '0' };
      const reply = new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no SMS reply to "${text}" within ${timeoutMs} ms`)), timeoutMs);
        waiting = (answer) => {
          clearTimeout(timer);
          resolve(answer);
        };
      });
      exchange.push({ direction: 'in', text });
      print(`${clock()} ${person} -> AI: ${text}`);
      const sentAt = performance.now();
      const response = await fetch(`${options.url}/v1.0/conversation_channels/${channel.id}/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSignature(channel.webhook_url, params, authToken) },
        body: new URLSearchParams(params).toString(),
      });
      if (!response.ok) throw new Error(`the SMS webhook answered ${response.status}: ${await response.text()}`);
      await reply;
      replyMs.push(performance.now() - sentAt);
      waiting = undefined;
    }
    const conversations = await api<{ result: { id: string }[] }>('GET', `/v1.0/conversations?channel_id=${channel.id}`);
    const conversationId = conversations.result[0]?.id ?? '';
    const aicalls = await api<{ result: { id: string; status: string }[] }>('GET', `/v1.0/aicalls?reference_type=conversation&reference_id=${conversationId}`);
    print('');
    print(`Conversation ${conversationId}: ${exchange.length} messages (GET /v1.0/conversations/${conversationId}/messages); replies took ${replyMs.map((ms) => `${Math.round(ms)} ms`).join(', ')}`);
    print(`  one AIcall served it: ${aicalls.result.map((aicall) => `${aicall.id} (${aicall.status})`).join(', ')}`);
    return { exchange, replyMs, conversationId, aicallIds: aicalls.result.map((aicall) => aicall.id) };
  } finally {
    await new Promise<void>((resolve) => smsApi.server.close(() => resolve()));
  }
}
