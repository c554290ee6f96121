/** A tool result as `success: Saved caller_name.` when it is the platform's JSON result, else as it is. */
export function toolResultText(content: string): string {
  try {
    const parsed = JSON.parse(content) as { result?: unknown; message?: unknown };
    if (typeof parsed.result === 'string') return typeof parsed.message === 'string' && parsed.message ? `${parsed.result}: ${parsed.message}` : parsed.result;
  } catch {
    // Not JSON: shown as it is.
  }
  return content;
}
