import type { FastifySerializerCompiler } from 'fastify';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { responseSerializerCompiler, writableJsonSchema } from './response-serializer.ts';

const fallbackUsed: unknown[] = [];
const fallback: FastifySerializerCompiler<unknown> = ({ schema }) => {
  fallbackUsed.push(schema);
  return (data) => `fallback:${JSON.stringify(data)}`;
};
const compile = (schema: z.ZodType) => responseSerializerCompiler(fallback)({ schema, method: 'GET', url: '/x', httpStatus: '200' });

describe('responseSerializerCompiler', () => {
  const item = z.object({
    id: z.uuid(),
    kind: z.union([z.literal(''), z.enum(['a', 'b'])]),
    tags: z.array(z.enum(['x', 'y'])),
    parameter: z.record(z.string(), z.unknown()),
    nested: z.object({ level: z.number().optional() }),
    deleted: z.string().nullable(),
    count: z.int(),
  });

  it('writes what JSON.stringify of the zod output writes, leaving out undeclared fields', () => {
    const serialize = compile(z.object({ result: z.array(item), next_page_token: z.string() }));
    const value = {
      id: '0b7e2c8e-4f7c-4a55-8a49-1f6d2d4c9f10',
      kind: 'a',
      tags: ['x'],
      parameter: { any: [1, { deep: 'ok "quoted" \u2028' }] },
      nested: {},
      deleted: null,
      count: 3,
      engine_key_encrypted: 'v1:secret',
    };
    const expected = JSON.stringify({ result: [item.parse(value)], next_page_token: '' });
    expect(serialize({ result: [value], next_page_token: '' })).toBe(expected);
    expect(serialize({ result: [value], next_page_token: '' })).not.toContain('secret');
    expect(fallbackUsed).toEqual([]);
  });

  it('fails a value that lacks a required field', () => {
    const serialize = compile(item);
    expect(() => serialize({ id: '0b7e2c8e-4f7c-4a55-8a49-1f6d2d4c9f10' })).toThrow();
  });

  it('leaves schemas it cannot write exactly to the fallback', () => {
    const union = z.union([z.object({ a: z.string() }), z.object({ b: z.number() })]);
    const transformed = z.object({ at: z.date().transform((date) => date.toISOString()) });
    const literal = z.object({ kind: z.literal('fixed') });
    expect(writableJsonSchema(union)).toBeUndefined();
    expect(writableJsonSchema(transformed)).toBeUndefined();
    expect(writableJsonSchema(literal)).toBeUndefined();
    expect(compile(union)({ a: 'x' })).toBe('fallback:{"a":"x"}');
  });
});
