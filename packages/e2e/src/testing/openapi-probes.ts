import { randomUUID } from 'node:crypto';
import type { HttpMethod } from './stack.ts';
import { lineInbound, twilioInbound, webhookHeaders, type ResourceKind, type Tenant } from './tenants.ts';

/** The parts of an OpenAPI 3 document the probes read. */
export interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
}

interface OpenApiOperation {
  security?: Record<string, unknown>[];
  parameters?: { in: string; name: string; required?: boolean; schema?: JsonSchema }[];
  requestBody?: { content?: { 'application/json'?: { schema?: JsonSchema } } };
}

interface JsonSchema {
  type?: string;
  format?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  minItems?: number;
  minimum?: number;
}

/** What a request names of another tenant: one of its resources, or its phone number as a value. */
export type ForeignKind = Exclude<ResourceKind, 'bridge'> | 'number_value';

/** What the answer to a probe must be. */
export type Expectation =
  /** 404 RESOURCE_NOT_FOUND whose message names the foreign resource: the request reached the check of that id. */
  | { kind: 'not_found'; message: RegExp }
  /** The admin API refuses a customer's key whatever the ids. */
  | { kind: 'unauthorized' }
  /** A phone number is unique across customers: registering another's is refused (409 "in use", or 404). */
  | { kind: 'refused' }
  /** The request names nothing of the other tenant: any answer, as long as it reveals none of its data. */
  | { kind: 'own_data' }
  /** A vendor webhook (no access key) for the other tenant's channel, signed with anything but its secret: 401 INVALID_SIGNATURE. */
  | { kind: 'bad_signature' };

/** One request of the isolation sweep, without its access key (added in every auth form). */
export interface Probe {
  /** `METHOD /documented/{path}`. */
  operation: string;
  method: HttpMethod;
  url: string;
  body?: Record<string, unknown>;
  /** A raw body (a vendor webhook's), sent as it is with `headers(url)` (url: the path and query as sent). */
  raw?: { payload: string; headers: (url: string) => Record<string, string> };
  /** The slot (path parameter, query parameter or body field) holding the other tenant's value. */
  foreign?: { slot: string; kind: ForeignKind };
  expect: Expectation;
}

/** The 404 message of each kind of resource, as ai-manager and flow-manager word it. */
const notFoundMessages: Record<ForeignKind, RegExp> = {
  customer: /^No customer with this id/,
  accesskey: /^No access key with this id/,
  ai: /^No AI with this id/,
  aicall: /^No AIcall with this id/,
  aimessage: /^No AI message with this id/,
  aisummary: /^No AI summary with this id/,
  knowledgebase: /^No knowledge base with (this|the) id/,
  document: /^No knowledge base document with this id/,
  billing_account: /^No billing account with this id/,
  flow: /^(Flow not found|No flow with this id)/,
  number: /^Number not found/,
  activeflow: /^(No activeflow with this id|Activeflow not found)/,
  call: /^(No call with this id|Call not found)/,
  number_value: /^No number \S+ of yours/,
  conversation_channel: /^No conversation channel with this id/,
  line_channel: /^No conversation channel with this id/,
  conversation: /^No conversation with this id/,
  line_conversation: /^No conversation with this id/,
  conversation_message: /^No conversation message with this id/,
  transcribe: /^No transcribe with this id/,
  recording: /^Recording not found/,
  team: /^No team with this id/,
};

/** Path segments before a parameter, and the resource they hold. */
const segmentKinds: Record<string, ForeignKind> = {
  customers: 'customer',
  accesskeys: 'accesskey',
  ais: 'ai',
  aicalls: 'aicall',
  aimessages: 'aimessage',
  aisummaries: 'aisummary',
  knowledgebases: 'knowledgebase',
  documents: 'document',
  'billing-accounts': 'billing_account',
  flows: 'flow',
  numbers: 'number',
  activeflows: 'activeflow',
  calls: 'call',
  conversation_channels: 'conversation_channel',
  conversations: 'conversation',
  transcribes: 'transcribe',
  recordings: 'recording',
  teams: 'team',
};

/** Id fields (in bodies and queries) and the resource they name. */
const fieldKinds: Record<string, ForeignKind> = {
  assistance_id: 'ai',
  ai_id: 'ai',
  aicall_id: 'aicall',
  activeflow_id: 'activeflow',
  reference_id: 'call',
  flow_id: 'flow',
  call_flow_id: 'flow',
  message_flow_id: 'flow',
  on_complete_flow_id: 'flow',
  on_end_flow_id: 'flow',
  knowledgebase_id: 'knowledgebase',
  knowledgebase_ids: 'knowledgebase',
  document_id: 'document',
  channel_id: 'conversation_channel',
  transcribe_id: 'transcribe',
};

/**
 * Id fields that name no resource of a customer: a team's members are named by ids the
 * customer chooses within the team (another team's member ids mean nothing in it).
 */
const notResourceFields = new Set(['start_member_id']);

/** Fields whose value is a phone number: another customer's number is named by value. */
const numberFields = new Set(['number', 'destination']);

/** Valid values of required fields that are no ids (the probe must fail on the foreign id alone). */
const fieldValues: Record<string, unknown> = {
  engine_model: 'local.scripted',
  name: 'isolation probe',
  content: 'isolation probe',
  text: 'isolation probe',
  conversation_id: 'isolation-probe',
  source: '+15550000000',
  amount: 1,
  q: 'opens',
};

function unwrap(schema: JsonSchema): JsonSchema {
  const choice = schema.anyOf ?? schema.oneOf;
  return choice ? unwrap(choice.find((option) => option.type !== 'null') ?? choice[0]!) : schema;
}

const isUuid = (schema: JsonSchema) => unwrap(schema).type === 'string' && unwrap(schema).format === 'uuid';

/** A slot that can hold a tenant's value: an id field, a list of ids, or a phone number. */
function slotKind(name: string, schema: JsonSchema): ForeignKind | undefined {
  const plain = unwrap(schema);
  const idList = plain.type === 'array' && plain.items !== undefined && isUuid(plain.items);
  if (isUuid(schema) || idList) {
    if (notResourceFields.has(name)) return undefined;
    const kind = fieldKinds[name];
    if (!kind) throw new Error(`The id field "${name}" names no known resource: add it to fieldKinds so the isolation sweep can probe it.`);
    return kind;
  }
  return numberFields.has(name) ? 'number_value' : undefined;
}

/** A tenant's value for a slot: its resource id (as a list for a list of ids) or its number. */
function valueOf(tenant: Tenant, kind: ForeignKind, schema: JsonSchema): unknown {
  const value = kind === 'number_value' ? tenant.number : tenant.ids[kind];
  return unwrap(schema).type === 'array' ? [value] : value;
}

/** A plain valid value of a non-id field (enums take their first value). */
function sample(name: string, schema: JsonSchema): unknown {
  const plain = unwrap(schema);
  // A field that is an object here (`POST /v1.0/calls`'s address `source`) is built from its schema.
  if (name in fieldValues && plain.type !== 'object') return fieldValues[name];
  if (plain.const !== undefined) return plain.const;
  if (plain.enum) return plain.enum[0];
  // An id inside a required object (a team's members): one of no one's.
  if (plain.type === 'string' && plain.format === 'uuid') return randomUUID();
  switch (plain.type) {
    case 'integer':
    case 'number':
      return Math.max(plain.minimum ?? 1, 1);
    case 'boolean':
      return false;
    case 'array':
      return plain.minItems && plain.items ? [sample(name, plain.items)] : [];
    case 'object':
      return Object.fromEntries((plain.required ?? []).map((field) => [field, sample(field, plain.properties?.[field] ?? {})]));
    default:
      return 'isolation probe';
  }
}

interface Slot {
  where: 'path' | 'query' | 'body';
  name: string;
  kind: ForeignKind;
  schema: JsonSchema;
  required: boolean;
}

/**
 * The probes of one documented operation, sent with the prober's key. Every slot that can name
 * a tenant's resource gets, one at a time, the victim's value while the others keep the
 * prober's own (so the request fails on that id alone, or not at all): a path parameter or a
 * required query id must be "not found"; an optional query filter may answer (it filters the
 * prober's own data) but reveals nothing. The admin API is refused. An operation without such
 * slots is sent once and must reveal nothing.
 */
export function probesOf(path: string, method: string, operation: OpenApiOperation, victim: Tenant, prober: Tenant): Probe[] {
  const upper = method.toUpperCase() as HttpMethod;
  const slots: Slot[] = [];
  const segments = path.split('/');
  for (const parameter of operation.parameters ?? []) {
    const schema = parameter.schema ?? {};
    if (parameter.in === 'path') {
      const before = segments[segments.indexOf(`{${parameter.name}}`) - 1] ?? '';
      const kind = segmentKinds[before];
      if (!kind) throw new Error(`${upper} ${path}: no resource kind for the path segment "${before}"; add it to segmentKinds.`);
      slots.push({ where: 'path', name: parameter.name, kind, schema, required: true });
    } else if (parameter.in === 'query') {
      const kind = slotKind(parameter.name, schema);
      if (kind) slots.push({ where: 'query', name: parameter.name, kind, schema, required: parameter.required === true });
    }
  }
  const bodySchema = unwrap(operation.requestBody?.content?.['application/json']?.schema ?? {});
  for (const [name, schema] of Object.entries(bodySchema.properties ?? {})) {
    const kind = slotKind(name, schema);
    if (kind) slots.push({ where: 'body', name, kind, schema, required: true });
  }

  /**
   * The request with `foreign` holding the victim's value and the other slots the prober's:
   * all of them (`full`), or only those the request needs (`minimal`: optional body ids left
   * out, which changes what some requests mean, as a text AIcall differs from a call's).
   */
  const build = (foreign: Slot | undefined, everyone: Tenant | undefined, shape: 'full' | 'minimal' = 'full'): Omit<Probe, 'expect' | 'operation'> => {
    const owner = (slot: Slot) => everyone ?? (slot === foreign ? victim : prober);
    let url = path;
    const query = new URLSearchParams();
    for (const parameter of operation.parameters ?? []) {
      if (parameter.in === 'query' && parameter.required && !slots.some((slot) => slot.name === parameter.name)) query.set(parameter.name, String(sample(parameter.name, parameter.schema ?? {})));
    }
    let body: Record<string, unknown> | undefined;
    if (operation.requestBody) {
      body = {};
      for (const name of bodySchema.required ?? []) body[name] = sample(name, bodySchema.properties?.[name] ?? {});
    }
    const needed = new Set(bodySchema.required ?? []);
    for (const slot of slots) {
      if (slot.where === 'body' && shape === 'minimal' && slot !== foreign && !needed.has(slot.name)) continue;
      const value = valueOf(owner(slot), slot.kind, slot.schema);
      if (slot.where === 'path') url = url.replace(`{${slot.name}}`, String(value));
      else if (slot.where === 'query' && (slot.required || slot === foreign)) query.set(slot.name, String(value));
      else if (slot.where === 'body') body![slot.name] = value;
    }
    // A call reference is a call only with reference_type call (the body's enum starts elsewhere).
    if (body && 'reference_id' in body && bodySchema.properties?.reference_type) body.reference_type = 'call';
    const search = query.toString();
    return { method: upper, url: `${url}${search ? `?${search}` : ''}`, ...(body ? { body } : {}) };
  };

  const operationName = `${upper} ${path}`;
  if (/^\/v1\.0\/conversation_channels\/\{\w+\}\/webhook$/.test(path)) return webhookProbes(operationName, path, victim, prober);
  if (operation.security?.some((scheme) => 'adminToken' in scheme)) {
    return [{ operation: operationName, ...build(undefined, victim), expect: { kind: 'unauthorized' } }];
  }
  if (slots.length === 0) return [{ operation: operationName, ...build(undefined, prober), expect: { kind: 'own_data' } }];
  return slots.flatMap((slot) => {
    const expect: Expectation =
      slot.where === 'query' && !slot.required
        ? { kind: 'own_data' }
        : slot.kind === 'number_value' && slot.name === 'number'
          ? { kind: 'refused' }
          : { kind: 'not_found', message: notFoundMessages[slot.kind] };
    const foreign = { slot: `${slot.where}:${slot.name}`, kind: slot.kind };
    const shapes = [build(slot, undefined, 'full'), build(slot, undefined, 'minimal')];
    const distinct = shapes.filter((shape, index) => index === 0 || JSON.stringify(shape) !== JSON.stringify(shapes[0]));
    return distinct.map((shape) => ({ operation: operationName, ...shape, foreign, expect }));
  });
}

/**
 * A channel's vendor webhook takes no access key (the key the sweep adds in every auth form is
 * ignored): the vendor's signature with the channel's own secret authenticates it, and the
 * prober cannot sign with the victim's secret. So each probe posts a well-formed inbound
 * message (naming the victim's number) for the victim's channel, signed correctly in every
 * other respect (the URL as sent, query included, for Twilio; the raw body for LINE) but
 * with the prober's own secret of that kind, or with none: it must be 401 INVALID_SIGNATURE,
 * and the sweep's check of the victim's data afterwards shows nothing was stored (no new
 * conversation or message). The same signing with the channel's own secret is what created
 * the victim's conversations (createTenant), so the 401 is about the secret alone.
 */
function webhookProbes(operation: string, path: string, victim: Tenant, prober: Tenant): Probe[] {
  const foreign = (kind: ForeignKind) => ({ slot: 'path:id', kind });
  const sms = new URLSearchParams(twilioInbound(prober.contact, victim.number, 'isolation probe')).toString();
  const line = lineInbound(`U${'1'.repeat(32)}`, 'isolation probe');
  const url = (channel: string) => path.replace(/\{\w+\}/, channel);
  const probe = (channel: string, kind: 'sms' | 'line', payload: string, secret: string | undefined): Probe => ({
    operation,
    method: 'POST',
    url: url(channel),
    raw: {
      payload,
      headers: (sent) =>
        secret === undefined ? { 'content-type': kind === 'sms' ? 'application/x-www-form-urlencoded' : 'application/json' } : webhookHeaders(kind, prober.webhookBase, sent, payload, secret),
    },
    foreign: foreign(kind === 'sms' ? 'conversation_channel' : 'line_channel'),
    expect: { kind: 'bad_signature' },
  });
  return [
    probe(victim.ids.conversation_channel, 'sms', sms, prober.channelSecrets.authToken),
    probe(victim.ids.conversation_channel, 'sms', sms, undefined),
    probe(victim.ids.line_channel, 'line', line, prober.channelSecrets.channelSecret),
    probe(victim.ids.line_channel, 'line', line, undefined),
  ];
}

/** Every probe of a document. */
export function probesFrom(document: OpenApiDocument, victim: Tenant, prober: Tenant): Probe[] {
  return Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.entries(operations).flatMap(([method, operation]) => probesOf(path, method, operation, victim, prober)),
  );
}
