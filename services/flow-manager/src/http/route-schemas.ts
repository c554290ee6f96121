import { actionInputItemSchema, activeflowSchema, appError, callSchema, connectDestinationSchema, isUuid } from '@avp/shared';
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

/** `POST /v1.0/calls`: outgoing calls, one per destination, that run a flow once answered. */
export const outgoingCallCreateSchema = z
  .strictObject({
    source: z
      .strictObject({ type: z.literal('tel'), target: z.string().min(1).max(200) })
      .meta({ description: 'The caller id the called parties see: `{type: "tel", target: "+15551234"}`.' }),
    destinations: z.array(connectDestinationSchema).min(1).max(10).meta({ description: 'Whom to call (`tel` numbers or `endpoint` names), 1-10: one call each.' }),
    flow_id: z.uuid().optional().meta({ description: 'A flow of yours to run on each answered call; when left out, `actions` run.' }),
    actions: z.array(actionInputItemSchema).optional().meta({ description: 'Actions to run when there is no `flow_id`, checked as a flow\'s actions are.' }),
    timeout: z.number().int().min(1).max(300).default(30).meta({ description: 'Seconds each call rings before it ends `noanswer`.' }),
    variables: z.record(z.string(), z.string()).default({}).meta({ description: 'Initial variables of each call\'s activeflow (beside `voipbin.call.*`).' }),
  })
  .refine((body) => body.flow_id !== undefined || (body.actions?.length ?? 0) > 0, { message: 'Give flow_id or actions.', path: ['flow_id'] });

/** The answer to `POST /v1.0/calls`: the calls made, in the order of the destinations. */
export const outgoingCallsSchema = z.object({ calls: z.array(callSchema) });

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
