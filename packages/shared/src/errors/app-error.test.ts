import { describe, expect, it } from 'vitest';
import { AppError, appError, errorBodySchema, isAppError } from './app-error.ts';
import { errorReasons, errorStatusForHttp, errorStatuses, httpStatusOf } from './error-catalog.ts';

describe('error catalog', () => {
  it('maps the statuses to the HTTP codes clients rely on', () => {
    expect(httpStatusOf('INVALID_ARGUMENT')).toBe(400);
    expect(httpStatusOf('UNAUTHENTICATED')).toBe(401);
    expect(httpStatusOf('PAYMENT_REQUIRED')).toBe(402);
    expect(httpStatusOf('NOT_FOUND')).toBe(404);
    expect(httpStatusOf('ALREADY_EXISTS')).toBe(409);
    expect(httpStatusOf('INTERNAL')).toBe(500);
  });

  it('gives every reason a known status and a message', () => {
    for (const [reason, definition] of Object.entries(errorReasons)) {
      expect(errorStatuses, reason).toHaveProperty(definition.status);
      expect(definition.message.length, reason).toBeGreaterThan(0);
    }
  });

  it('maps HTTP codes back to statuses, falling back by class', () => {
    expect(errorStatusForHttp(404)).toBe('NOT_FOUND');
    expect(errorStatusForHttp(418)).toBe('INVALID_ARGUMENT');
    expect(errorStatusForHttp(502)).toBe('INTERNAL');
  });
});

describe('AppError', () => {
  it('takes status and message from the catalog', () => {
    const error = appError('RESOURCE_NOT_FOUND');
    expect(error.status).toBe('NOT_FOUND');
    expect(error.httpStatus).toBe(404);
    expect(error.message).toBe(errorReasons.RESOURCE_NOT_FOUND.message);
  });

  it('builds the public body with the request id and optional details', () => {
    const body = appError('VALIDATION_FAILED', 'name: required', { problems: ['name: required'] }).toBody('request-1');
    expect(errorBodySchema.parse(body)).toEqual({
      error: {
        status: 'INVALID_ARGUMENT',
        reason: 'VALIDATION_FAILED',
        message: 'name: required',
        request_id: 'request-1',
        details: { problems: ['name: required'] },
      },
    });
  });

  it('accepts a service-specific reason with an explicit status', () => {
    const error = new AppError('AI_NOT_FOUND', { status: 'NOT_FOUND', message: 'No such AI.' });
    expect(error.httpStatus).toBe(404);
    expect(error.toBody('r').error).toMatchObject({ reason: 'AI_NOT_FOUND', status: 'NOT_FOUND' });
  });

  it('treats an unknown reason without a status as internal', () => {
    expect(new AppError('SOMETHING_ODD').status).toBe('INTERNAL');
  });

  it('is recognised by isAppError, plain errors are not', () => {
    expect(isAppError(appError('INTERNAL'))).toBe(true);
    expect(isAppError(new Error('x'))).toBe(false);
    expect(isAppError('x')).toBe(false);
  });
});
