/**
 * The error catalog: every error a service returns has a stable `status` (the class of
 * failure, which fixes the HTTP code) and a stable `reason` (the specific case). Clients
 * branch on these; messages are for humans and may change.
 */

/** Error classes and their HTTP status codes. */
export const errorStatuses = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PAYMENT_REQUIRED: 402,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  REQUEST_TIMEOUT: 408,
  ALREADY_EXISTS: 409,
  FAILED_PRECONDITION: 409,
  PAYLOAD_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  RESOURCE_EXHAUSTED: 429,
  HEADERS_TOO_LARGE: 431,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
} as const;

export type ErrorStatus = keyof typeof errorStatuses;

interface ReasonDefinition {
  status: ErrorStatus;
  message: string;
}

/**
 * Every reason the platform uses, with its status and a default message. Add new cases
 * here rather than inventing reasons at the throw site, so the catalog stays complete.
 */
export const errorReasons = {
  // Generic request problems.
  INVALID_JSON_BODY: { status: 'INVALID_ARGUMENT', message: 'The request body is not valid JSON.' },
  INVALID_ID: { status: 'INVALID_ARGUMENT', message: 'The id in the path is not a valid UUID.' },
  VALIDATION_FAILED: { status: 'INVALID_ARGUMENT', message: 'The request is not valid.' },
  INVALID_REQUEST: { status: 'INVALID_ARGUMENT', message: 'The request is not valid.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 'INVALID_ARGUMENT', message: 'The request body must be application/json.' },
  BODY_TOO_LARGE: { status: 'PAYLOAD_TOO_LARGE', message: 'The request body is too large.' },
  JSON_TOO_DEEP: { status: 'INVALID_ARGUMENT', message: 'The request body nests arrays and objects too deeply.' },
  // Refused by the HTTP layer before any route ran (the framework's own answers).
  INVALID_URL: { status: 'INVALID_ARGUMENT', message: 'The URL is not valid (bad percent-encoding).' },
  URI_TOO_LONG: { status: 'URI_TOO_LONG', message: 'A path segment of the URL is too long.' },
  HEADERS_TOO_LARGE: { status: 'HEADERS_TOO_LARGE', message: 'The request line and headers are too large.' },
  MALFORMED_REQUEST: { status: 'INVALID_ARGUMENT', message: 'The request is not valid HTTP.' },
  REQUEST_TIMEOUT: { status: 'REQUEST_TIMEOUT', message: 'The request did not arrive in time.' },
  MISSING_CREDENTIALS: { status: 'UNAUTHENTICATED', message: 'No access key was given.' },
  INVALID_SIGNATURE: { status: 'UNAUTHENTICATED', message: 'The request signature is missing or not valid.' },
  INVALID_CREDENTIALS: { status: 'UNAUTHENTICATED', message: 'The access key is not valid.' },
  PERMISSION_DENIED: { status: 'PERMISSION_DENIED', message: 'The caller may not do this.' },
  RATE_LIMITED: { status: 'RESOURCE_EXHAUSTED', message: 'Too many requests; retry later.' },
  SEND_COOLDOWN: { status: 'RESOURCE_EXHAUSTED', message: 'A message was sent into this session moments ago; wait a few seconds.' },
  INSUFFICIENT_BALANCE: { status: 'PAYMENT_REQUIRED', message: 'The billing account balance is too low.' },
  RESOURCE_NOT_FOUND: { status: 'NOT_FOUND', message: 'The resource does not exist.' },
  ROUTE_NOT_FOUND: { status: 'NOT_FOUND', message: 'No handler serves this route.' },
  RESOURCE_ALREADY_EXISTS: { status: 'ALREADY_EXISTS', message: 'The resource already exists.' },
  INVALID_STATE: { status: 'FAILED_PRECONDITION', message: 'The resource is not in a state that allows this.' },
  INTERNAL: { status: 'INTERNAL', message: 'An internal error occurred.' },
  PROVIDER_ERROR: { status: 'INTERNAL', message: 'The AI provider failed (a bad engine key, or the provider is unavailable).' },
  // Telephony (Asterisk over ARI).
  TELEPHONY_TIMEOUT: { status: 'DEADLINE_EXCEEDED', message: 'Asterisk did not do what was asked in time.' },
  MEDIA_FAILED: { status: 'INTERNAL', message: 'Asterisk could not play the media.' },
  // Inter-service transport.
  RPC_TIMEOUT: { status: 'DEADLINE_EXCEEDED', message: 'The service did not answer in time.' },
  SERVICE_UNAVAILABLE: { status: 'UNAVAILABLE', message: 'The service is not available.' },
  NOT_READY: { status: 'UNAVAILABLE', message: 'The service is not ready.' },
} as const satisfies Record<string, ReasonDefinition>;

export type ErrorReason = keyof typeof errorReasons;

/** Returns the HTTP status code for an error status. */
export function httpStatusOf(status: ErrorStatus): number {
  return errorStatuses[status];
}

/** Maps an HTTP status code back to the closest error status (used for RPC replies). */
export function errorStatusForHttp(code: number): ErrorStatus {
  const exact = (Object.keys(errorStatuses) as ErrorStatus[]).find(
    (status) => errorStatuses[status] === code,
  );
  if (exact) return exact;
  return code >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT';
}
