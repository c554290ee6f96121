import { z } from 'zod';
import type { DomainContext } from '../domain/context.ts';
import { searchKnowledgebases } from '../domain/knowledgebases/knowledgebase-service.ts';

/** How many passages the tool gives the LLM. */
export const searchKnowledgeLimit = 5;

/** JSON Schema of search_knowledge's arguments, as the LLM sees it. */
export const searchKnowledgeParameters = {
  type: 'object',
  properties: {
    query: {
      type: 'string',
      description: 'The key words of what to look up, e.g. "refund damaged item" or "opening hours Sunday"; words, not a whole sentence.',
    },
    knowledgebase_id: { type: 'string', description: 'Only this knowledge base (an id you were given); leave out to search all of them.' },
  },
  required: ['query'],
};

const argumentsSchema = z.object({
  query: z.string().trim().min(1).max(1000),
  knowledgebase_id: z.uuid().optional(),
});

/** What search_knowledge answers, without the fields every tool result has. */
export interface SearchKnowledgeOutcome {
  result: 'success' | 'failed';
  message: string;
  resource_type: string;
  resource_id: string;
  data?: unknown;
}

/**
 * Searches the knowledge bases of the AIcall's AI (its `knowledgebase_ids`, all of them the
 * AIcall's customer's) for the LLM. The top passages go in `data` with where each came
 * from; finding nothing is a success with an empty list, so the LLM says it does not know.
 * Throws a ZodError for bad arguments (the executor turns it into a failed result).
 */
export async function searchKnowledge(
  domain: DomainContext,
  aicall: { customer_id: string; assistance_id: string },
  args: Record<string, unknown>,
): Promise<SearchKnowledgeOutcome> {
  const { query, knowledgebase_id: requested } = argumentsSchema.parse(args);
  const ai = await domain.db
    .selectFrom('ais')
    .select('knowledgebase_ids')
    .where('id', '=', aicall.assistance_id)
    .where('customer_id', '=', aicall.customer_id)
    .executeTakeFirst();
  const linked = ai?.knowledgebase_ids ?? [];
  const failed = (message: string): SearchKnowledgeOutcome => ({ result: 'failed', message, resource_type: 'knowledgebase', resource_id: '' });
  if (linked.length === 0) return failed('No knowledge base is configured for this AI.');
  const wanted = requested?.toLowerCase();
  if (wanted !== undefined && !linked.includes(wanted)) return failed(`The knowledge base ${wanted} is not one this AI can search.`);
  const searched = wanted !== undefined ? [wanted] : linked;
  const passages = await searchKnowledgebases(domain, aicall.customer_id, searched, query, searchKnowledgeLimit);
  const resourceId = searched.length === 1 ? searched[0]! : '';
  if (passages.length === 0) {
    return {
      result: 'success',
      message: `Nothing was found in the knowledge base for "${query}". Try other words, or say that you do not know; do not guess.`,
      resource_type: 'knowledgebase',
      resource_id: resourceId,
      data: [],
    };
  }
  return {
    result: 'success',
    message: `Found ${passages.length} passage${passages.length === 1 ? '' : 's'}, most relevant first. Answer from them; name the source when it helps.`,
    resource_type: 'knowledgebase',
    resource_id: resourceId,
    data: passages.map((passage) => ({
      content: passage.content,
      document_name: passage.document_name,
      source: passage.source,
      knowledgebase_id: passage.knowledgebase_id,
      document_id: passage.document_id,
      rank: passage.rank,
    })),
  };
}
