import {
  knowledgebaseDocumentCreateSchema,
  knowledgebaseDocumentSchema,
  knowledgebaseDocumentSummarySchema,
  knowledgebaseFieldsSchema,
  knowledgebaseSchema,
  knowledgebaseSearchQuerySchema,
  knowledgebaseSearchResponseSchema,
  maxKnowledgebaseDocumentChars,
} from '@avp/shared';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { DomainContext } from '../domain/context.ts';
import {
  addDocument,
  createKnowledgebase,
  getDocument,
  getKnowledgebase,
  listDocumentPage,
  listKnowledgebasePage,
  removeDocument,
  removeKnowledgebase,
  searchKnowledgebase,
  updateKnowledgebase,
} from '../domain/knowledgebases/knowledgebase-service.ts';
import { callerOf } from '../http/caller.ts';
import { parseId } from '../http/ids.ts';
import { idParamsSchema, keySecurity, listResponseSchema, pageQuerySchema, responses } from './route-schemas.ts';

const tags = ['knowledgebases'];

const documentParamsSchema = idParamsSchema.extend({
  document_id: z.string().meta({ format: 'uuid', description: 'The document id.' }),
});

/** `/v1.0/knowledgebases`: the caller's knowledge bases, their documents, and a search to try them. */
export function knowledgebaseRoutes(domain: DomainContext): FastifyPluginAsyncZod {
  return async (api) => {
    api.post('/v1.0/knowledgebases', {
      schema: {
        tags,
        summary: 'Create a knowledge base',
        description: 'language (BCP-47, optional) picks stemming and stop words for search: en-* English, de-* German, ...; empty: plain word matching.',
        security: keySecurity,
        body: knowledgebaseFieldsSchema,
        response: responses(knowledgebaseSchema),
      },
      handler: async (request) => createKnowledgebase(domain, callerOf(request).customerId, request.body),
    });
    api.get('/v1.0/knowledgebases', {
      schema: {
        tags,
        summary: 'List knowledge bases',
        security: keySecurity,
        querystring: pageQuerySchema,
        response: responses(listResponseSchema(knowledgebaseSchema)),
      },
      handler: async (request) => listKnowledgebasePage(domain, callerOf(request).customerId, request.query),
    });
    api.get('/v1.0/knowledgebases/:id', {
      schema: { tags, summary: 'Get a knowledge base', security: keySecurity, params: idParamsSchema, response: responses(knowledgebaseSchema) },
      handler: async (request) => getKnowledgebase(domain, callerOf(request).customerId, parseId(request.params.id)),
    });
    api.put('/v1.0/knowledgebases/:id', {
      schema: {
        tags,
        summary: 'Replace a knowledge base',
        description: 'Replaces name and detail; language keeps its stored value when left out (a change re-indexes the documents).',
        security: keySecurity,
        params: idParamsSchema,
        body: knowledgebaseFieldsSchema,
        response: responses(knowledgebaseSchema),
      },
      handler: async (request) => updateKnowledgebase(domain, callerOf(request).customerId, parseId(request.params.id), request.body),
    });
    api.delete('/v1.0/knowledgebases/:id', {
      schema: {
        tags,
        summary: 'Delete a knowledge base',
        description: 'Deletes its documents too and removes it from the knowledgebase_ids of every AI.',
        security: keySecurity,
        params: idParamsSchema,
        response: responses(knowledgebaseSchema),
      },
      handler: async (request) => removeKnowledgebase(domain, callerOf(request).customerId, parseId(request.params.id)),
    });

    api.post('/v1.0/knowledgebases/:id/documents', {
      schema: {
        tags,
        summary: 'Add a document',
        description: `Plain text or Markdown, at most ${maxKnowledgebaseDocumentChars} characters; split into passages of up to 1000 characters for search.`,
        security: keySecurity,
        params: idParamsSchema,
        body: knowledgebaseDocumentCreateSchema,
        response: responses(knowledgebaseDocumentSchema),
      },
      handler: async (request) => addDocument(domain, callerOf(request).customerId, parseId(request.params.id), request.body),
    });
    api.get('/v1.0/knowledgebases/:id/documents', {
      schema: {
        tags,
        summary: 'List the documents of a knowledge base',
        description: 'Without their content; get a document for it.',
        security: keySecurity,
        params: idParamsSchema,
        querystring: pageQuerySchema,
        response: responses(listResponseSchema(knowledgebaseDocumentSummarySchema)),
      },
      handler: async (request) => listDocumentPage(domain, callerOf(request).customerId, parseId(request.params.id), request.query),
    });
    api.get('/v1.0/knowledgebases/:id/documents/:document_id', {
      schema: { tags, summary: 'Get a document', security: keySecurity, params: documentParamsSchema, response: responses(knowledgebaseDocumentSchema) },
      handler: async (request) =>
        getDocument(domain, callerOf(request).customerId, parseId(request.params.id), parseId(request.params.document_id, 'document_id')),
    });
    api.delete('/v1.0/knowledgebases/:id/documents/:document_id', {
      schema: { tags, summary: 'Delete a document', security: keySecurity, params: documentParamsSchema, response: responses(knowledgebaseDocumentSchema) },
      handler: async (request) =>
        removeDocument(domain, callerOf(request).customerId, parseId(request.params.id), parseId(request.params.document_id, 'document_id')),
    });

    api.get('/v1.0/knowledgebases/:id/search', {
      schema: {
        tags,
        summary: 'Search a knowledge base',
        description: 'The passages search_knowledge would give an AI for q (any of its words; passages with more of them first), best first.',
        security: keySecurity,
        params: idParamsSchema,
        querystring: knowledgebaseSearchQuerySchema,
        response: responses(knowledgebaseSearchResponseSchema),
      },
      handler: async (request) =>
        searchKnowledgebase(domain, callerOf(request).customerId, parseId(request.params.id), request.query.q, request.query.limit),
    });
  };
}
