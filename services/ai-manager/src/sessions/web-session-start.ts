import { appError, rpcCall, type Aicall } from '@avp/shared';
import { setPipelineInstance } from '../domain/aicalls/aicall-repository.ts';
import { createAicall, getAicall, terminateAicall } from '../domain/aicalls/aicall-service.ts';
import { recordAimessage } from '../domain/aimessages/aimessage-service.ts';
import { getAi } from '../domain/ais/ai-service.ts';
import { pipelineAiSettings, sessionDeadline } from './pipeline-ai-settings.ts';
import { defaultPlatformPrompt, renderSystemPrompts, type SessionStartOptions } from './session-start.ts';

/**
 * `POST /v1.0/web_sessions`: the AIcall of a browser's microphone session (reference type
 * `web_session`: no call, no flow), `initiating` until the browser connects its media socket
 * (startWebPipeline). 404 for another customer's AI, 402 below the minimum balance.
 */
export async function createWebSession(options: SessionStartOptions, customerId: string, aiId: string): Promise<Aicall> {
  const { domain } = options;
  await getAi(domain, customerId, aiId);
  await domain.billing?.assertCanStart(customerId);
  return createAicall(domain, customerId, { assistance_type: 'ai', assistance_id: aiId, reference_type: 'web_session', reference_id: null, activeflow_id: null });
}

/**
 * Starts a web session's pipeline once the browser is connected: the system prompts as a call's
 * (without flow variables: there is no flow), and `POST /v1/pipelines` with no call, reading its
 * audio from `mediaUrl` (this instance's relay, web-sessions.ts). A failure terminates the
 * AIcall with the reason as a notification and is thrown.
 */
export async function startWebPipeline(options: SessionStartOptions, customerId: string, aicallId: string, mediaUrl: string): Promise<void> {
  const { domain, logger } = options;
  const aicall = await getAicall(domain, customerId, aicallId);
  try {
    if (aicall.reference_type !== 'web_session' || aicall.status !== 'initiating') throw appError('INVALID_STATE', 'The web session has started or ended already.');
    const ai = await getAi(domain, customerId, aicall.assistance_id);
    const noVariables = () => Promise.resolve({});
    const prompts = await renderSystemPrompts(options.platformPrompt ?? defaultPlatformPrompt, ai.init_prompt, ai.parameter, noVariables);
    for (const content of prompts) await recordAimessage(domain, aicall.id, { role: 'system', direction: 'outgoing', content });
    const started = await rpcCall<{ pipeline_id: string; instance_id: string }>(
      options.bus,
      'pipeline-manager',
      'POST',
      '/v1/pipelines',
      {
        aicall_id: aicall.id,
        customer_id: customerId,
        activeflow_id: null,
        call_id: null,
        media_transport: 'web',
        media_url: mediaUrl,
        format: 'slin16',
        ai: await pipelineAiSettings(domain, customerId, ai, noVariables),
        messages: prompts.map((content) => ({ role: 'system', content })),
        // As for a call, search_knowledge is not offered to an AI with no knowledge base.
        tools: (options.tools?.(ai.tool_names) ?? []).filter((tool) => tool.name !== 'search_knowledge' || ai.knowledgebase_ids.length > 0),
        deadline_at: sessionDeadline(aicall),
      },
      { publisher: options.serviceName, timeoutMs: options.pipelineStartTimeoutMs ?? 20_000 },
    );
    // Stored, as for a call: stop and the watchdog reach the pipeline from any ai-manager instance.
    await setPipelineInstance(domain.db, aicall.id, started.instance_id);
    logger.info({ aicallId: aicall.id, reference: 'web_session' }, 'session started');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    logger.warn({ aicallId: aicall.id, err: error }, 'web session could not start');
    await recordAimessage(domain, aicall.id, { role: 'notification', direction: 'incoming', content: `The session could not start: ${reason}` }).catch(() => undefined);
    await terminateAicall(domain, customerId, aicall.id).catch(() => undefined);
    throw error;
  }
}
