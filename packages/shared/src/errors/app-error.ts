import { z } from 'zod';
import {
  errorReasons,
  errorStatuses,
  httpStatusOf,
  type ErrorReason,
  type ErrorStatus,
} from './error-catalog.ts';

/** The public error body: `{"error": {"status", "reason", "message", "request_id"}}`. */
export const errorBodySchema = z.object({
  error: z.object({
    status: z.enum(Object.keys(errorStatuses) as [ErrorStatus, ...ErrorStatus[]]),
    reason: z.string(),
    message: z.string(),
    request_id: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

/**
 * An error with a stable status and reason. Domain code throws these; the HTTP error
 * handler and the RPC server turn them into the public body without leaking internals.
 */
export class AppError extends Error {
  readonly status: ErrorStatus;
  readonly reason: string;
  readonly details: unknown;

  constructor(
    reason: ErrorReason | (string & {}),
    options: { message?: string; status?: ErrorStatus; details?: unknown; cause?: unknown } = {},
  ) {
    const known = (errorReasons as Record<string, { status: ErrorStatus; message: string }>)[reason];
    const status = options.status ?? known?.status ?? 'INTERNAL';
    super(options.message ?? known?.message ?? reason, { cause: options.cause });
    this.name = 'AppError';
    this.status = status;
    this.reason = reason;
    this.details = options.details;
  }

  get httpStatus(): number {
    return httpStatusOf(this.status);
  }

  /** The public body for this error. */
  toBody(requestId: string): ErrorBody {
    const body: ErrorBody = {
      error: { status: this.status, reason: this.reason, message: this.message, request_id: requestId },
    };
    if (this.details !== undefined) body.error.details = this.details;
    return body;
  }
}

/** Builds an AppError for a catalog reason, optionally with a more specific message. */
export function appError(reason: ErrorReason, message?: string, details?: unknown): AppError {
  return new AppError(reason, { message, details });
}

/** Whether a value is an AppError (also across module copies). */
export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError || (value instanceof Error && value.name === 'AppError' && 'reason' in value);
}
