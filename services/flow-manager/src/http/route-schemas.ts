import { actionInputItemSchema, activeflowSchema, appError, isUuid } from '@avp/shared';
import type { FastifySchemaCompiler } from 'fastify';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';

/** Where flow-manager serves its OpenAPI UI (the document is at `<path>/json`); ai-manager's is /v1.0/docs. */
export const flowManagerDocsPath = '/v1.0/docs/flow-manager';

/** Path `{id}`: a UUID (any case; handlers get it in lower case), else 400 INVALID_ID. */
export const uuidParamsSchema = z.object({
  id: z
    .string()
    .refine(isUuid)
    .transform((id) => id.toLowerCase())
    .meta({ format: 'uuid', description: 'The resource id.' }),
});

/** What a client sends to start an activeflow: a flow of theirs, or actions given inline. */
export const activeflowCreateSchema = z.strictObject({
  flow_id: z.uuid().optional().meta({ description: 'A flow of yours to run; when left out, `actions` run.' }),
  actions: z.array(actionInputItemSchema).optional().meta({ description: 'Actions to run when there is no `flow_id`, checked as a flow\'s actions are.' }),
  variables: z.record(z.string(), z.string()).default({}).meta({ description: 'Initial variables of the activeflow.' }),
});

/** The answer to an inbound text message: its id and the activeflow that runs for it. */
export const inboundMessageResultSchema = z.object({
  id: z.uuid(),
  activeflow: activeflowSchema,
});

/**
 * zod validation as in ai-manager, with flow-manager's rules kept: an absent body is `{}`
 * (so required fields are named in the error), and a malformed path id is 400 INVALID_ID
 * before anything else is checked.
 */
export const flowManagerValidatorCompiler: FastifySchemaCompiler<z.ZodType> = (route) => {
  const validate = validatorCompiler(route);
  if (route.httpPart === 'body') return (data) => validate(data ?? {});
  if (route.httpPart === 'params') {
    return (data) => {
      const result = validate(data) as { error?: Error; value?: unknown };
      return result.error ? { error: appError('INVALID_ID', 'The id in the path is not a valid UUID.') } : result;
    };
  }
  return validate;
};
