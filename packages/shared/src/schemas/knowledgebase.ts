import { z } from 'zod';
import { languageTagSchema } from './ai.ts';

const timestamp = z.string().meta({ description: 'UTC timestamp, 2026-01-02T03:04:05.123456Z' });

/** Longest document `content`, in characters (about 50 pages of text); longer is a 400. */
export const maxKnowledgebaseDocumentChars = 200_000;

/** Most passages a search returns (the search_knowledge tool always asks for 5). */
export const maxKnowledgebaseSearchResults = 20;

/**
 * A knowledge base as the API, events and webhooks show it. `language` (BCP-47 or empty)
 * picks the full-text configuration its documents are indexed with (stemming and stop
 * words for the language; empty or unknown: language-neutral word matching).
 */
export const knowledgebaseSchema = z.object({
  id: z.uuid(),
  customer_id: z.uuid(),
  name: z.string(),
  detail: z.string(),
  language: z.string(),
  tm_create: timestamp,
  tm_update: timestamp,
  tm_delete: timestamp.nullable(),
});
export type Knowledgebase = z.infer<typeof knowledgebaseSchema>;

/** `POST` and `PUT /v1.0/knowledgebases`. `PUT` keeps the stored `language` when it is left out. */
export const knowledgebaseFieldsSchema = z.strictObject({
  name: z.string().max(255).default(''),
  detail: z.string().max(4096).default(''),
  language: languageTagSchema.optional(),
});
export type KnowledgebaseFields = z.infer<typeof knowledgebaseFieldsSchema>;

/** A document as lists show it: everything but its content. */
export const knowledgebaseDocumentSummarySchema = z.object({
  id: z.uuid(),
  customer_id: z.uuid(),
  knowledgebase_id: z.uuid(),
  name: z.string(),
  /** Where the text came from (a URL, a file name); shown as the source of search results. */
  source: z.string(),
  /** Characters in `content`. */
  content_length: z.number().int(),
  /** How many passages the content was split into for search. */
  passage_count: z.number().int(),
  tm_create: timestamp,
  tm_update: timestamp,
  tm_delete: timestamp.nullable(),
});
export type KnowledgebaseDocumentSummary = z.infer<typeof knowledgebaseDocumentSummarySchema>;

/** A document with its text (create, get, delete). */
export const knowledgebaseDocumentSchema = knowledgebaseDocumentSummarySchema.extend({ content: z.string() });
export type KnowledgebaseDocument = z.infer<typeof knowledgebaseDocumentSchema>;

/** `POST /v1.0/knowledgebases/{id}/documents`: plain text (or Markdown) with a name. */
export const knowledgebaseDocumentCreateSchema = z.strictObject({
  name: z.string().trim().min(1).max(255),
  content: z
    .string()
    .max(maxKnowledgebaseDocumentChars, { message: `must be at most ${maxKnowledgebaseDocumentChars} characters; split the document` })
    .refine((value) => value.trim() !== '', { message: 'must not be empty' }),
  source: z.string().max(2048).default(''),
});
export type KnowledgebaseDocumentCreate = z.infer<typeof knowledgebaseDocumentCreateSchema>;

/** `GET /v1.0/knowledgebases/{id}/search`. */
export const knowledgebaseSearchQuerySchema = z.object({
  q: z.string().trim().min(1).max(1000),
  limit: z.coerce.number().int().min(1).max(maxKnowledgebaseSearchResults).default(5),
});

/** One passage found by a search, with where it came from. */
export const knowledgebasePassageSchema = z.object({
  knowledgebase_id: z.uuid(),
  document_id: z.uuid(),
  document_name: z.string(),
  source: z.string(),
  /** The passage's place in its document, from 0. */
  position: z.number().int(),
  content: z.string(),
  /** PostgreSQL `ts_rank`: higher is more relevant; only comparable within one search. */
  rank: z.number(),
});
export type KnowledgebasePassage = z.infer<typeof knowledgebasePassageSchema>;

/** The answer of a search: the best passages first. */
export const knowledgebaseSearchResponseSchema = z.object({ result: z.array(knowledgebasePassageSchema) });
