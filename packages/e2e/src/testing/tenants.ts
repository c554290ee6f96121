import { randomUUID } from 'node:crypto';
import { signLine, signTwilio } from '@avp/ai-manager/testing/messaging-fakes';
import type { Caller } from '@avp/asterisk-simulator';
import { rpcCall } from '@avp/shared';
import { eventually, eventuallyFound } from '@avp/shared/testing';
import { askNameScript, scriptedAi, type Api, type ApiBody, type Stack } from './stack.ts';

/** Every kind of resource a customer owns, as the isolation probes name them. */
export const resourceKinds = [
  'customer',
  'accesskey',
  'ai',
  'aicall',
  'aimessage',
  'aisummary',
  'knowledgebase',
  'document',
  'billing_account',
  'flow',
  'number',
  'activeflow',
  'call',
  'bridge',
  /** An sms channel (flow_id null: the number's message flow runs) with an auth token. */
  'conversation_channel',
  /** A LINE channel (its own message flow) with a channel secret. */
  'line_channel',
  /** The sms channel's conversation, and its inbound message. */
  'conversation',
  'conversation_message',
  /** The LINE channel's conversation. */
  'line_conversation',
  /** A live transcription of its call (both directions). */
  'transcribe',
  /** A recording of its call, still recording. */
  'recording',
  /** A team whose one member is its AI. */
  'team',
] as const;
export type ResourceKind = (typeof resourceKinds)[number];

/** One customer with one resource of every kind and a live call through the simulator. */
export interface Tenant {
  name: string;
  key: string;
  customerId: string;
  ids: Record<ResourceKind, string>;
  /** The number its calls are placed to (other customers' requests may name it as a value). */
  number: string;
  /** A flow variable value that only this tenant's call flow holds. */
  secret: string;
  /** The caller of its live call. */
  caller: Caller;
  /** Its transcription's transcribers in pipeline-manager, one per direction. */
  transcribers: { id: string; direction: 'in' | 'out' }[];
  /** `voice`: its AIcall is a live voice session on the call; otherwise a text AIcall. */
  voice: boolean;
  api: Api;
  /** Its channels' webhook secrets (write-only: no answer may ever show them). */
  channelSecrets: { authToken: string; channelSecret: string };
  /** The base its channels' webhook_url has (the URL Twilio signs is this plus the request's path and query). */
  webhookBase: string;
  /** The contact on the other end of its sms conversation, and what it texted. */
  contact: string;
  inboundText: string;
}

/** The form body Twilio posts for an inbound SMS. */
export function twilioInbound(from: string, to: string, body: string): Record<string, string> {
  return { MessageSid: `SM${randomUUID().replaceAll('-', '')}`, AccountSid: 'ACisolation', From: from, To: to, Body: body, NumMedia: '0' };
}

/** The JSON body LINE posts for one inbound text message from `userId`. */
export function lineInbound(userId: string, text: string): string {
  return JSON.stringify({
    destination: `U${'0'.repeat(32)}`,
    events: [
      {
        type: 'message',
        mode: 'active',
        timestamp: Date.now(),
        webhookEventId: randomUUID(),
        deliveryContext: { isRedelivery: false },
        source: { type: 'user', userId },
        replyToken: `reply-${randomUUID()}`,
        message: { id: `${Date.now()}${Math.floor(Math.random() * 1000)}`, type: 'text', text, quoteToken: 'q' },
      },
    ],
  });
}

/** The headers of a webhook request signed as the vendor signs it (`url`: the path and query as sent). */
export function webhookHeaders(
  kind: 'sms' | 'line',
  webhookBase: string,
  url: string,
  payload: string,
  secret: string,
): Record<string, string> {
  return kind === 'sms'
    ? { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signTwilio(`${webhookBase}${url}`, Object.fromEntries(new URLSearchParams(payload)), secret) }
    : { 'content-type': 'application/json', 'x-line-signature': signLine(payload, secret) };
}

const result = (body: ApiBody) => (body.result ?? []) as (ApiBody & { id: string })[];

/**
 * Creates a tenant through the public API (its key, or a new customer): an AI linked to a
 * knowledge base with a document, a flow and a number (with a message flow of its own), a live call on that number whose flow
 * sets `secret`, an AIcall with a message, a summary of its transcription, a bridge (over the
 * bus, as flows make them), an sms and a LINE conversation channel each with a conversation that one signed
 * inbound webhook started, and a live transcription of the call (both directions; the stack's
 * pipeline-manager needs an STT for `stt_type` of ai-manager's transcriptions). With `voice` the call's flow hands the call to the AI (`ai_talk`): the AIcall
 * is a live voice session that has greeted the caller and waits for an answer; otherwise the
 * flow waits in a block and the AIcall is a text one.
 */
export async function createTenant(stack: Stack, options: { name: string; key?: string; voice: boolean }): Promise<Tenant> {
  const key = options.key ?? (await stack.createCustomer(options.name));
  const api = stack.apiAs(key);
  const customer = await api('GET', '/v1.0/customer');
  const customerId = String(customer.id);
  const admin = stack.apiAs(stack.adminToken);
  const accesskey = result(await admin('GET', `/v1.0/customers/${customerId}/accesskeys`))[0]!;

  const knowledgebase = await api('POST', '/v1.0/knowledgebases', { name: `${options.name} handbook` });
  const document = await api('POST', `/v1.0/knowledgebases/${String(knowledgebase.id)}/documents`, { name: 'hours', content: `${options.name} opens at nine.` });
  const ai = await api('POST', '/v1.0/ais', scriptedAi(askNameScript, { name: `${options.name} assistant`, tool_names: ['all'], knowledgebase_ids: [knowledgebase.id] }));
  const memberId = randomUUID();
  const team = await api('POST', '/v1.0/teams', { name: `${options.name} desk`, start_member_id: memberId, members: [{ id: memberId, name: 'desk', ai_id: ai.id }] });
  const secret = `secret-of-${options.name}-${randomUUID()}`;
  const handOver = options.voice ? [{ type: 'ai_talk', option: { ai_id: ai.id } }] : [{ type: 'block' }];
  const flow = await api('POST', '/v1.0/flows', { actions: [{ type: 'variable_set', option: { key: 'secret', value: secret } }, { type: 'answer' }, ...handOver, { type: 'hangup' }] });
  const number = `+1${Math.floor(1e9 + Math.random() * 9e9)}`;
  const messageFlow = await api('POST', '/v1.0/flows', { actions: [{ type: 'variable_set', option: { key: 'secret', value: secret } }] });
  const numberRow = await api('POST', '/v1.0/numbers', { number, call_flow_id: flow.id, message_flow_id: messageFlow.id });

  const caller = stack.simulator.placeCall({ app: stack.ariApp, extension: number, callerNumber: '+15550009999' });
  await caller.waitForAnswer(20_000);
  const call = await eventuallyFound(async () => result(await api('GET', '/v1.0/calls')).find((entry) => entry.channel_id === caller.id && entry.activeflow_id), 'the call and its flow', 20_000);
  const activeflowId = String(call.activeflow_id);
  // Transcribed from the start: a voice session's greeting is heard on `out` (when the legs are up in time).
  const transcribe = await api('POST', '/v1.0/transcribes', { reference_type: 'call', reference_id: call.id, direction: 'both' });
  const { instance_id: pipelineInstance } = await rpcCall<{ instance_id: string }>(stack.bus, 'pipeline-manager', 'GET', '/v1/ping');
  const running = await rpcCall<{ result: { transcriber_id: string; transcribe_id: string; direction: 'in' | 'out' }[] }>(stack.bus, 'pipeline-manager', 'GET', '/v1/transcribers', undefined, {
    instanceId: pipelineInstance,
  });
  const transcribers = running.result.filter((entry) => entry.transcribe_id === transcribe.id).map((entry) => ({ id: entry.transcriber_id, direction: entry.direction }));
  if (transcribers.length !== 2) throw new Error(`${options.name}'s transcription runs ${transcribers.length} transcribers, not 2`);
  const recording = await api('POST', '/v1.0/recordings', { reference_type: 'call', reference_id: call.id });
  let aicallId: string;
  let aimessageId: string;
  if (options.voice) {
    // The session has greeted the caller (the greeting is stored once played) and now listens.
    await caller.waitForAudio(20_000);
    aicallId = (await eventuallyFound(async () => result(await api('GET', `/v1.0/aicalls?reference_id=${call.id}`))[0], 'the voice session', 20_000)).id;
    aimessageId = (
      await eventuallyFound(
        async () => result(await api('GET', `/v1.0/aimessages?aicall_id=${aicallId}`)).find((message) => message.role === 'assistant'),
        'the greeting to be stored',
        30_000,
      )
    ).id;
  } else {
    await eventually(async () => (await api('GET', `/v1.0/activeflows/${activeflowId}`)).status === 'waiting', 'the flow to wait in its block', 10_000, 50);
    aicallId = String((await api('POST', '/v1.0/aicalls', { assistance_type: 'ai', assistance_id: ai.id })).id);
    aimessageId = String((await api('POST', '/v1.0/aimessages', { aicall_id: aicallId, content: `hello from ${options.name}` })).id);
  }
  const summary = await api('POST', '/v1.0/aisummaries', { reference_type: 'transcribe', reference_id: transcribe.id });
  const bridge = await rpcCall<{ id: string }>(stack.bus, 'flow-manager', 'POST', '/v1/bridges', { customer_id: customerId, name: `${options.name} bridge` });
  const account = result(await api('GET', '/v1.0/billing-accounts'))[0]!;

  // Conversations: an sms channel (no flow_id: the number's message flow runs) and a LINE
  // channel (its own flow), each with one inbound message posted to its webhook signed with
  // the channel's secret, as the vendors do. The message flow only sets a variable and ends.
  const channelSecrets = { authToken: `twilio-token-of-${options.name}-${randomUUID()}`, channelSecret: `line-secret-of-${options.name}-${randomUUID()}` };
  const smsChannel = await api('POST', '/v1.0/conversation_channels', { type: 'sms', name: `${options.name} sms`, account_sid: 'ACisolation', auth_token: channelSecrets.authToken });
  const lineChannel = await api('POST', '/v1.0/conversation_channels', {
    type: 'line',
    name: `${options.name} line`,
    flow_id: messageFlow.id,
    channel_secret: channelSecrets.channelSecret,
    channel_access_token: `line-access-of-${options.name}`,
  });
  const webhookPath = (channel: ApiBody) => `/v1.0/conversation_channels/${String(channel.id)}/webhook`;
  const webhookBase = String(smsChannel.webhook_url).slice(0, -webhookPath(smsChannel).length);
  const contact = `+1555${Math.floor(1e6 + Math.random() * 9e6)}`;
  const inboundText = `hello ${options.name}, ${secret}`;
  const lineUser = `U${randomUUID().replaceAll('-', '')}`;
  const inbound: [ApiBody, 'sms' | 'line', string, string][] = [
    [smsChannel, 'sms', new URLSearchParams(twilioInbound(contact, number, inboundText)).toString(), channelSecrets.authToken],
    [lineChannel, 'line', lineInbound(lineUser, inboundText), channelSecrets.channelSecret],
  ];
  for (const [channel, kind, payload, channelSecret] of inbound) {
    const url = webhookPath(channel);
    const response = await stack.app.inject({ method: 'POST', url, headers: webhookHeaders(kind, webhookBase, url, payload, channelSecret), payload });
    if (response.statusCode !== 200) throw new Error(`${options.name}'s ${kind} webhook: ${response.statusCode} ${response.body}`);
  }
  const conversationOf = async (channel: ApiBody) => result(await api('GET', `/v1.0/conversations?channel_id=${String(channel.id)}`))[0]!;
  const conversation = await conversationOf(smsChannel);
  const lineConversation = await conversationOf(lineChannel);
  const conversationMessage = result(await api('GET', `/v1.0/conversations/${conversation.id}/messages`))[0]!;
  // Both message flows ran (and ended) before anyone looks.
  await eventually(
    async () => result(await api('GET', '/v1.0/activeflows?page_size=100')).filter((flow) => flow.reference_type === 'conversation' && flow.status === 'ended').length === 2,
    'the message flows to run',
    20_000,
    50,
  );

  return {
    name: options.name,
    key,
    customerId,
    number,
    secret,
    caller,
    transcribers,
    voice: options.voice,
    api,
    channelSecrets,
    webhookBase,
    contact,
    inboundText,
    ids: {
      customer: customerId,
      accesskey: accesskey.id,
      ai: String(ai.id),
      aicall: aicallId,
      aimessage: aimessageId,
      aisummary: String(summary.id),
      knowledgebase: String(knowledgebase.id),
      document: String(document.id),
      billing_account: account.id,
      flow: String(flow.id),
      number: String(numberRow.id),
      activeflow: activeflowId,
      call: call.id,
      bridge: bridge.id,
      conversation_channel: String(smsChannel.id),
      line_channel: String(lineChannel.id),
      conversation: conversation.id,
      conversation_message: conversationMessage.id,
      line_conversation: lineConversation.id,
      transcribe: String(transcribe.id),
      recording: String(recording.id),
      team: String(team.id),
    },
  };
}

/** Strings that would reveal the tenant's data if they appeared in an answer to someone else. */
export function revealingValues(tenant: Tenant): string[] {
  return [...Object.values(tenant.ids), ...tenant.transcribers.map((transcriber) => transcriber.id), tenant.number, tenant.secret, tenant.channelSecrets.authToken, tenant.channelSecrets.channelSecret, tenant.contact, tenant.inboundText];
}

/**
 * Everything the tenant can see of its own resources, read with its own key: compared before
 * and after another customer's attempts, it shows nothing was read into or changed. (A voice
 * session's listing and ledger settle once its greeting is stored and charged; callers wait
 * for two equal snapshots first.)
 */
export async function snapshot(tenant: Tenant): Promise<Record<string, unknown>> {
  const { api, ids } = tenant;
  const reads: Record<string, string> = {
    customer: '/v1.0/customer',
    ais: '/v1.0/ais',
    aicall: `/v1.0/aicalls/${ids.aicall}`,
    aicalls: '/v1.0/aicalls',
    aimessages: `/v1.0/aimessages?aicall_id=${ids.aicall}`,
    aisummaries: '/v1.0/aisummaries',
    knowledgebases: '/v1.0/knowledgebases',
    documents: `/v1.0/knowledgebases/${ids.knowledgebase}/documents`,
    billing: `/v1.0/billing-accounts/${ids.billing_account}`,
    ledger: `/v1.0/billing-accounts/${ids.billing_account}/ledger`,
    flows: '/v1.0/flows',
    numbers: '/v1.0/numbers',
    activeflows: '/v1.0/activeflows',
    activeflow: `/v1.0/activeflows/${ids.activeflow}`,
    calls: '/v1.0/calls',
    channels: '/v1.0/conversation_channels',
    conversations: '/v1.0/conversations',
    messages: `/v1.0/conversations/${ids.conversation}/messages`,
    line_messages: `/v1.0/conversations/${ids.line_conversation}/messages`,
    transcribes: '/v1.0/transcribes',
    transcribe: `/v1.0/transcribes/${ids.transcribe}`,
    transcripts: `/v1.0/transcripts?transcribe_id=${ids.transcribe}`,
    recordings: '/v1.0/recordings',
    recording: `/v1.0/recordings/${ids.recording}`,
    teams: '/v1.0/teams',
  };
  const entries = await Promise.all(Object.entries(reads).map(async ([name, url]) => [name, await api('GET', url)] as const));
  return Object.fromEntries(entries);
}
