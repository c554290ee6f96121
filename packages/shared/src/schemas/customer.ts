import { z } from 'zod';

/**
 * Customers and their access keys (ai-manager owns them; every public endpoint of the
 * platform authenticates with one of these keys).
 */

const timestamp = z.string().meta({ description: 'UTC timestamp, 2026-01-02T03:04:05.123456Z' });
const nullableTimestamp = timestamp.nullable();

/** An access key as listed: the secret itself is shown once, when the key is issued. */
export const accessKeySchema = z.object({
  id: z.uuid(),
  customer_id: z.uuid(),
  name: z.string(),
  /** The first characters of the key, to tell keys apart. */
  key_prefix: z.string(),
  tm_create: timestamp,
  tm_update: timestamp,
  tm_delete: nullableTimestamp,
});
export type AccessKey = z.infer<typeof accessKeySchema>;

/** A newly issued key: the only time `key` is returned. */
export const issuedAccessKeySchema = accessKeySchema.extend({ key: z.string() });
export type IssuedAccessKey = z.infer<typeof issuedAccessKeySchema>;

/** The public form of a customer. `webhook_secret` signs webhook deliveries (HMAC-SHA256). */
export const customerSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  detail: z.string(),
  /** Events are POSTed here as `{type, data}`; empty = no webhooks. */
  webhook_uri: z.string(),
  webhook_secret: z.string(),
  tm_create: timestamp,
  tm_update: timestamp,
  tm_delete: nullableTimestamp,
});
export type Customer = z.infer<typeof customerSchema>;

/** A webhook target: an http(s) URL, or empty to turn webhooks off. */
export const webhookUriSchema = z
  .string()
  .max(2048)
  .refine((value) => value === '' || /^https?:\/\/[^\s]+$/i.test(value), {
    message: 'must be an http:// or https:// URL, or empty to turn webhooks off',
  });

/** `POST /v1.0/customers` (admin). */
export const customerCreateSchema = z.strictObject({
  name: z.string().min(1).max(255),
  detail: z.string().max(4096).default(''),
  webhook_uri: webhookUriSchema.default(''),
});
export type CustomerCreate = z.infer<typeof customerCreateSchema>;

/** `PUT /v1.0/customers/{id}` (admin) and `PUT /v1.0/customer` (the customer itself): fields given change. */
export const customerUpdateSchema = z.strictObject({
  name: z.string().min(1).max(255).optional(),
  detail: z.string().max(4096).optional(),
  webhook_uri: webhookUriSchema.optional(),
});
export type CustomerUpdate = z.infer<typeof customerUpdateSchema>;

/** The answer to `POST /v1.0/customers`: the customer with its first key. */
export const createdCustomerSchema = customerSchema.extend({
  accesskey: z.object({ id: z.uuid(), key: z.string() }),
});
export type CreatedCustomer = z.infer<typeof createdCustomerSchema>;

/** `POST /v1.0/customers/{id}/accesskeys` (admin). */
export const accessKeyCreateSchema = z.strictObject({ name: z.string().max(255).default('') });
