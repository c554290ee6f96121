/**
 * Provider failures in seven categories. The pipeline branches on `category` and
 * `retryable`, never on vendor-specific error classes; everything a vendor SDK or socket
 * throws goes through `classifyProviderError` once, in the resilience wrapper.
 */
export const providerErrorCategories = [
  'auth',
  'rate_limit',
  'quota',
  'bad_request',
  'connectivity',
  'server',
  'timeout',
] as const;
export type ProviderErrorCategory = (typeof providerErrorCategories)[number];

const retryableByCategory: Record<ProviderErrorCategory, boolean> = {
  auth: false,
  rate_limit: true,
  quota: false,
  bad_request: false,
  connectivity: true,
  server: true,
  timeout: true,
};

/** A classified provider failure. `provider` is the engine name (`openai.gpt-4o`, `deepgram`). */
export class ProviderError extends Error {
  readonly category: ProviderErrorCategory;
  readonly retryable: boolean;
  readonly provider: string;
  /** HTTP status or WebSocket close code when the vendor gave one. */
  readonly status: number | undefined;

  constructor(
    category: ProviderErrorCategory,
    message: string,
    options: { provider?: string; status?: number; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'ProviderError';
    this.category = category;
    this.provider = options.provider ?? '';
    this.status = options.status;
    this.retryable = options.retryable ?? retryableByCategory[category];
  }
}

export function isProviderError(value: unknown): value is ProviderError {
  return value instanceof ProviderError;
}

/** The category for an HTTP status (or a WebSocket close code carrying one), if it says anything. */
export function categoryForStatus(status: number, body = ''): ProviderErrorCategory | undefined {
  if (status === 401 || status === 403) return 'auth';
  if (status === 402) return 'quota';
  // 429 means both "slow down" and "out of money"; only the body tells them apart.
  if (status === 429) return /insufficient_quota|exceeded your current quota|billing|credit balance|out of credits/i.test(body) ? 'quota' : 'rate_limit';
  if (status === 408) return 'timeout';
  if (status >= 400 && status < 500) return 'bad_request';
  if (status >= 500 && status < 600) return 'server';
  return undefined;
}

const connectivityCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);
const timeoutCodes = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** AWS exception names (Bedrock runtime) and the category each means. */
const awsExceptionCategories: Record<string, ProviderErrorCategory> = {
  AccessDeniedException: 'auth',
  UnrecognizedClientException: 'auth',
  ExpiredTokenException: 'auth',
  InvalidSignatureException: 'auth',
  ThrottlingException: 'rate_limit',
  ServiceQuotaExceededException: 'quota',
  ValidationException: 'bad_request',
  ResourceNotFoundException: 'bad_request',
  ModelNotReadyException: 'server',
  ModelTimeoutException: 'timeout',
  ModelStreamErrorException: 'server',
  InternalServerException: 'server',
  ServiceUnavailableException: 'server',
  ModelErrorException: 'server',
};

/**
 * Turns anything a provider threw into a ProviderError. Understands the status of the
 * openai / anthropic / genai / ElevenLabs / Deepgram SDK errors, AWS exception names,
 * Node and undici network error codes (also nested in `cause`), and WebSocket handshake
 * failures ("Unexpected server response: 401").
 */
export function classifyProviderError(error: unknown, provider: string): ProviderError {
  if (error instanceof ProviderError) return error;
  const message = messageOf(error);
  const make = (category: ProviderErrorCategory, status?: number): ProviderError =>
    new ProviderError(category, `${provider}: ${message}`, { provider, status, cause: error });

  const record = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  const name = typeof record.name === 'string' ? record.name : '';
  const awsCategory = awsExceptionCategories[name];
  if (awsCategory) return make(awsCategory, awsStatus(record));

  const status = numericStatus(record);
  if (status !== undefined) {
    const category = categoryForStatus(status, `${message} ${safeJson(record.error ?? record.body)}`);
    if (category) return make(category, status);
  }
  const vendorType = vendorErrorCategory(`${safeJson(record.error)} ${name}`);
  if (vendorType) return make(vendorType);
  const handshake = /Unexpected server response: (\d{3})/.exec(message);
  if (handshake) {
    const code = Number(handshake[1]);
    const category = categoryForStatus(code, message);
    if (category) return make(category, code);
  }

  for (let cause: unknown = error, depth = 0; cause && depth < 5; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && connectivityCodes.has(code)) return make('connectivity');
    if (typeof code === 'string' && timeoutCodes.has(code)) return make('timeout');
    const causeName = (cause as { name?: unknown }).name;
    if (causeName === 'TimeoutError' || causeName === 'APIConnectionTimeoutError') return make('timeout');
    cause = (cause as { cause?: unknown }).cause;
  }
  if (/timed? ?out/i.test(message)) return make('timeout');
  if (name === 'APIConnectionError' || /fetch failed|ECONNREFUSED|socket hang up|network/i.test(message)) {
    return make('connectivity');
  }
  // Unknown failures count as server-side and are not retried: retrying a bug helps nobody.
  return new ProviderError('server', `${provider}: ${message}`, { provider, retryable: false, cause: error });
}

/** Error type names vendors put in bodies and mid-stream error events (Anthropic, Google). */
const vendorErrorTypes: Array<[RegExp, ProviderErrorCategory]> = [
  [/overloaded_error|"api_error"|"UNAVAILABLE"|"INTERNAL"/, 'server'],
  [/insufficient_quota/, 'quota'],
  [/rate_limit_error|"RESOURCE_EXHAUSTED"/, 'rate_limit'],
  [/authentication_error|permission_error|"UNAUTHENTICATED"|"PERMISSION_DENIED"/, 'auth'],
  [/invalid_request_error|"INVALID_ARGUMENT"/, 'bad_request'],
];

function vendorErrorCategory(text: string): ProviderErrorCategory | undefined {
  return vendorErrorTypes.find(([pattern]) => pattern.test(text))?.[1];
}

function numericStatus(record: Record<string, unknown>): number | undefined {
  for (const key of ['status', 'statusCode', 'code']) {
    const value = record[key];
    if (typeof value === 'number' && value >= 400 && value < 600) return value;
  }
  return awsStatus(record);
}

function awsStatus(record: Record<string, unknown>): number | undefined {
  const metadata = record.$metadata as { httpStatusCode?: unknown } | undefined;
  return typeof metadata?.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
}

/** The message of an Error, or of an error-like event object (WebSocket `error` events). */
function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null) {
    const record = error as { message?: unknown; error?: unknown };
    if (typeof record.message === 'string' && record.message) return record.message;
    if (record.error instanceof Error) return record.error.message;
  }
  return String(error);
}

function safeJson(value: unknown): string {
  if (value === undefined) return '';
  try {
    return typeof value === 'string' ? value : JSON.stringify(value);
  } catch {
    return '';
  }
}

/** True when `error` is the result of aborting `signal` (not a provider failure). */
export function isAbortFrom(signal: AbortSignal | undefined, error: unknown): boolean {
  if (!signal?.aborted) return false;
  return error === signal.reason || (error instanceof Error && /abort/i.test(`${error.name} ${error.message}`));
}

/** The ProviderError for a non-2xx fetch response (reads the body for the quota check). */
export async function errorFromResponse(response: Response, provider: string): Promise<ProviderError> {
  const body = await response.text().catch(() => '');
  const category = categoryForStatus(response.status, body) ?? 'server';
  return new ProviderError(category, `${provider}: HTTP ${response.status} ${body.slice(0, 200)}`.trim(), { provider, status: response.status });
}
