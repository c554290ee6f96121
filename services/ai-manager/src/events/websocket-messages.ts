import { websocketClientMessageSchema, type WebsocketClientMessage } from '@avp/shared';

/** A client's message, or the problem to answer it with (the connection stays open). */
export function parseClientMessage(text: string): { message: WebsocketClientMessage } | { problem: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { problem: 'messages must be JSON' };
  }
  const result = websocketClientMessageSchema.safeParse(parsed);
  if (result.success) return { message: result.data };
  return { problem: result.error.issues.map((issue) => `${issue.path.join('.') || '(message)'}: ${issue.message}`).join('; ') };
}
