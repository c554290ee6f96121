import {
  appError,
  defaultChannelApiBaseUrls,
  newId,
  type ConversationChannel,
  type ConversationChannelFields,
  type ConversationChannelType,
  type ListQuery,
  type ListResponse,
} from '@avp/shared';
import type { DomainContext } from '../domain/context.ts';
import { notFound } from '../domain/not-found.ts';
import { withEvents } from '../events/event-publisher.ts';
import { deleteChannel, findChannel, insertChannel, listChannels, replaceChannel, type ChannelRow, type ChannelRowFields } from './channel-repository.ts';

/** The secrets a channel may hold; each is sealed bound to `<channel id>/<name>`, so a copied ciphertext fails to open. */
type SecretName = 'auth_token' | 'channel_secret' | 'channel_access_token';
const secretsOf: Record<ConversationChannelType, SecretName[]> = { sms: ['auth_token'], line: ['channel_secret', 'channel_access_token'] };
const columnOf = { auth_token: 'auth_token_encrypted', channel_secret: 'channel_secret_encrypted', channel_access_token: 'channel_access_token_encrypted' } as const;

/** The URL the customer gives the vendor: `<public base>/v1.0/conversation_channels/<id>/webhook`. */
export function channelWebhookUrl(publicBase: string, channelId: string): string {
  return `${publicBase.replace(/\/+$/, '')}/v1.0/conversation_channels/${channelId}/webhook`;
}

/** The public form of a channel: secrets only as `*_set`, plus the webhook URL built from `publicBase`. */
export function toChannel(row: ChannelRow, publicBase: string): ConversationChannel {
  return {
    id: row.id,
    customer_id: row.customer_id,
    type: row.type as ConversationChannelType,
    name: row.name,
    detail: row.detail,
    flow_id: row.flow_id,
    api_base_url: row.api_base_url,
    account_sid: row.account_sid,
    auth_token_set: row.auth_token_encrypted !== null,
    channel_secret_set: row.channel_secret_encrypted !== null,
    channel_access_token_set: row.channel_access_token_encrypted !== null,
    webhook_url: channelWebhookUrl(publicBase, row.id),
    tm_create: row.tm_create,
    tm_update: row.tm_update,
    tm_delete: row.tm_delete,
  };
}

/** A channel's decrypted secret, for the webhook check and sending (never for a response); undefined when unset. */
export function openChannelSecret(context: DomainContext, row: ChannelRow, name: SecretName): string | undefined {
  const sealed = row[columnOf[name]];
  return sealed === null ? undefined : context.secrets.decrypt(sealed, `${row.id}/${name}`);
}

function invalid(problem: string): Error {
  return appError('VALIDATION_FAILED', problem, { problems: [problem] });
}

/**
 * The stored columns for a channel being created or replaced. `PUT` keeps what the body
 * leaves out of the secrets, `flow_id` and `api_base_url` (`""` removes a secret); fields of
 * the other vendor are refused rather than silently dropped. A customer-given
 * `api_base_url` passes the outbound URL rule now, so a URL that sending would refuse is
 * never saved (the vendor's default is the platform's choice and is not resolved here).
 */
async function channelColumns(
  context: DomainContext,
  id: string,
  fields: ConversationChannelFields,
  current?: ChannelRow,
  options: { checkUrl?: boolean } = {},
): Promise<ChannelRowFields> {
  const type = fields.type;
  const foreign = (['auth_token', 'account_sid', 'channel_secret', 'channel_access_token'] as const).filter(
    (name) => fields[name] !== undefined && !(type === 'sms' ? ['auth_token', 'account_sid'] : ['channel_secret', 'channel_access_token']).includes(name),
  );
  if (foreign.length > 0) throw invalid(`${foreign.join(', ')}: not used by a ${type} channel`);
  const flowId = fields.flow_id === undefined ? (current?.flow_id ?? null) : fields.flow_id;
  if (type === 'line' && flowId === null) throw invalid('flow_id: required for a line channel (the message flow to run)');
  const given = fields.api_base_url === undefined || fields.api_base_url === '' ? undefined : fields.api_base_url.replace(/\/+$/, '');
  const apiBaseUrl = given ?? (fields.api_base_url === undefined ? current?.api_base_url : undefined) ?? defaultChannelApiBaseUrls[type];
  if (apiBaseUrl !== defaultChannelApiBaseUrls[type] && options.checkUrl !== false) await context.outbound.checkField('api_base_url', apiBaseUrl);
  const sealed = (name: SecretName): string | null => {
    if (!secretsOf[type].includes(name)) return null;
    const value = fields[name];
    if (value === undefined) return current?.[columnOf[name]] ?? null;
    return value === '' ? null : context.secrets.encrypt(value, `${id}/${name}`);
  };
  return {
    name: fields.name,
    detail: fields.detail,
    flow_id: flowId?.toLowerCase() ?? null,
    api_base_url: apiBaseUrl,
    account_sid: type === 'sms' ? (fields.account_sid ?? current?.account_sid ?? '') : '',
    auth_token_encrypted: sealed('auth_token'),
    channel_secret_encrypted: sealed('channel_secret'),
    channel_access_token_encrypted: sealed('channel_access_token'),
  };
}

export async function createChannel(context: DomainContext, customerId: string, fields: ConversationChannelFields, publicBase: string): Promise<ConversationChannel> {
  const id = newId();
  const columns = await channelColumns(context, id, fields);
  return withEvents(context.db, context.events, async (trx, emit) => {
    const channel = toChannel(await insertChannel(trx, id, customerId, fields.type, columns), publicBase);
    await emit('conversation_channel_created', customerId, channel);
    return channel;
  });
}

export async function getChannel(context: DomainContext, customerId: string, id: string, publicBase: string): Promise<ConversationChannel> {
  const row = await findChannel(context.db, customerId, id);
  if (!row) throw notFound('conversation channel');
  return toChannel(row, publicBase);
}

export async function listChannelPage(context: DomainContext, customerId: string, page: ListQuery, publicBase: string): Promise<ListResponse<ConversationChannel>> {
  const list = await listChannels(context.db, customerId, page);
  return { result: list.result.map((row) => toChannel(row, publicBase)), next_page_token: list.next_page_token };
}

/** Replaces the channel's fields; `type` cannot change (a channel's conversations are of its type). */
export async function updateChannel(context: DomainContext, customerId: string, id: string, fields: ConversationChannelFields, publicBase: string): Promise<ConversationChannel> {
  const before = await findChannel(context.db, customerId, id);
  if (!before) throw notFound('conversation channel');
  if (before.type !== fields.type) throw invalid(`type: a channel's type cannot change (it is ${before.type})`);
  // Checked outside the transaction (it may resolve a host name); the secrets the body
  // leaves out are taken again under the row lock below.
  await channelColumns(context, id, fields, before);
  return withEvents(context.db, context.events, async (trx, emit) => {
    const current = await findChannel(trx, customerId, id, { forUpdate: true });
    if (!current) throw notFound('conversation channel');
    const row = await replaceChannel(trx, customerId, id, await channelColumns(context, id, fields, current, { checkUrl: false }));
    if (!row) throw notFound('conversation channel');
    const channel = toChannel(row, publicBase);
    await emit('conversation_channel_updated', customerId, channel);
    return channel;
  });
}

export async function removeChannel(context: DomainContext, customerId: string, id: string, publicBase: string): Promise<ConversationChannel> {
  return withEvents(context.db, context.events, async (trx, emit) => {
    const row = await deleteChannel(trx, customerId, id);
    if (!row) throw notFound('conversation channel');
    const channel = toChannel(row, publicBase);
    await emit('conversation_channel_deleted', customerId, channel);
    return channel;
  });
}
