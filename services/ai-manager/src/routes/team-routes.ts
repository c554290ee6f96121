import { teamFieldsSchema, teamSchema } from '@avp/shared';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { DomainContext } from '../domain/context.ts';
import { createTeam, getTeam, listTeamPage, removeTeam, updateTeam } from '../domain/teams/team-service.ts';
import { callerOf } from '../http/caller.ts';
import { parseId } from '../http/ids.ts';
import { idParamsSchema, keySecurity, listResponseSchema, pageQuerySchema, responses } from './route-schemas.ts';

const tags = ['teams'];

const teamRules =
  'Every member names an AI of yours; start_member_id and every transition\'s next_member_id name a member of the team; a member offers each function_name once, and a function_name is 1-64 letters, digits, "_" or "-" and never a built-in tool name.';

/** `/v1.0/teams`: the caller's teams of AIs (`assistance_type: "team"` in ai_talk and AIcalls). */
export function teamRoutes(domain: DomainContext): FastifyPluginAsyncZod {
  return async (api) => {
    api.post('/v1.0/teams', {
      schema: { tags, summary: 'Create a team', description: teamRules, security: keySecurity, body: teamFieldsSchema, response: responses(teamSchema) },
      handler: async (request) => createTeam(domain, callerOf(request).customerId, request.body),
    });
    api.get('/v1.0/teams', {
      schema: { tags, summary: 'List teams', security: keySecurity, querystring: pageQuerySchema, response: responses(listResponseSchema(teamSchema)) },
      handler: async (request) => listTeamPage(domain, callerOf(request).customerId, request.query),
    });
    api.get('/v1.0/teams/:id', {
      schema: { tags, summary: 'Get a team', security: keySecurity, params: idParamsSchema, response: responses(teamSchema) },
      handler: async (request) => getTeam(domain, callerOf(request).customerId, parseId(request.params.id)),
    });
    api.put('/v1.0/teams/:id', {
      schema: {
        tags,
        summary: 'Replace a team',
        description: `Replaces every field. ${teamRules} A running session of the team reads it again at its next member switch.`,
        security: keySecurity,
        params: idParamsSchema,
        body: teamFieldsSchema,
        response: responses(teamSchema),
      },
      handler: async (request) => updateTeam(domain, callerOf(request).customerId, parseId(request.params.id), request.body),
    });
    api.delete('/v1.0/teams/:id', {
      schema: { tags, summary: 'Delete a team', security: keySecurity, params: idParamsSchema, response: responses(teamSchema) },
      handler: async (request) => removeTeam(domain, callerOf(request).customerId, parseId(request.params.id)),
    });
  };
}
