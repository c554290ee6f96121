import fastJsonStringify from 'fast-json-stringify';
import type { FastifySerializerCompiler } from 'fastify';
import { z } from 'zod';

/**
 * The serializer compiler of the routes whose response schemas are zod schemas: each
 * response schema becomes a compiled JSON writer (fast-json-stringify, the writer Fastify
 * uses for JSON Schema responses) instead of a zod check of the value followed by
 * `JSON.stringify`, which together cost about as much as the rest of a simple GET. The
 * writer emits exactly the properties the schema declares, so a field a handler should not
 * have returned (a stored secret, say) is left out as the zod check left it out; a value
 * that lacks a required field still fails the request (500). What it does not do is check
 * the values' types and formats against the schema: handlers build their answers from
 * typed rows. A schema the writer cannot express exactly (unions other than of strings or
 * with null, references, transforms) keeps `fallback` (fastify-type-provider-zod's
 * serializer: the zod check and `JSON.stringify`).
 */
export function responseSerializerCompiler(fallback: FastifySerializerCompiler<unknown>): FastifySerializerCompiler<unknown> {
  return (route) => {
    const jsonSchema = writableJsonSchema(route.schema);
    if (jsonSchema === undefined) return fallback(route);
    return fastJsonStringify(jsonSchema as fastJsonStringify.AnySchema) as (data: unknown) => string;
  };
}

type JsonSchema = Record<string, unknown>;

/** Keywords the writer would have to evaluate (with a validator) rather than write by. */
const unsupportedKeywords = new Set(['const', 'anyOf', 'oneOf', 'allOf', 'not', 'if', 'then', 'else', '$ref', '$defs', 'definitions', 'patternProperties', 'prefixItems', 'dependentSchemas']);
const primitiveTypes = new Set(['string', 'number', 'integer', 'boolean']);

/** The response's JSON Schema simplified for the writer, or undefined when it must stay with zod. */
export function writableJsonSchema(schema: unknown): JsonSchema | undefined {
  if (!(schema instanceof z.ZodType)) return undefined;
  let converted: JsonSchema;
  try {
    converted = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'throw', reused: 'inline', cycles: 'throw' }) as JsonSchema;
  } catch {
    return undefined;
  }
  delete converted.$schema;
  const simplified = simplify(converted);
  return simplified !== undefined && isWritable(simplified) ? simplified : undefined;
}

/**
 * Unions the writer can write without deciding between branches: of strings only (enums and
 * constants) → a string; of one primitive type or object or array with null → that, nullable.
 * Anything else is returned as it is (and refused by isWritable).
 */
function simplify(schema: unknown): JsonSchema | undefined {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return undefined;
  const result: JsonSchema = {};
  for (const [keyword, value] of Object.entries(schema as JsonSchema)) {
    if (keyword === 'properties' && value && typeof value === 'object') {
      const properties: JsonSchema = {};
      for (const [name, property] of Object.entries(value as JsonSchema)) {
        const simplified = simplify(property);
        if (simplified === undefined) return undefined;
        properties[name] = simplified;
      }
      result.properties = properties;
    } else if ((keyword === 'items' || keyword === 'additionalProperties') && value && typeof value === 'object' && !Array.isArray(value)) {
      const simplified = simplify(value);
      if (simplified === undefined) return undefined;
      result[keyword] = simplified;
    } else if (keyword === 'anyOf' && Array.isArray(value)) {
      const branches = value.map(simplify);
      if (branches.some((branch) => branch === undefined)) return undefined;
      const union = simplifyUnion(branches as JsonSchema[]);
      if (union === undefined) {
        result.anyOf = branches;
      } else {
        Object.assign(result, union);
      }
    } else {
      result[keyword] = value;
    }
  }
  return result;
}

function simplifyUnion(branches: JsonSchema[]): JsonSchema | undefined {
  if (branches.length === 0) return undefined;
  if (branches.every((branch) => branch.type === 'string' && !('anyOf' in branch))) return { type: 'string' };
  const nonNull = branches.filter((branch) => branch.type !== 'null');
  if (nonNull.length !== 1 || branches.length !== 2 || Object.keys(branches.find((branch) => branch.type === 'null')!).length !== 1) return undefined;
  const only = nonNull[0]!;
  if ('anyOf' in only) return undefined;
  if (typeof only.type === 'string' && primitiveTypes.has(only.type)) return { ...only, type: [only.type, 'null'] };
  if (only.type === 'object' || only.type === 'array') return { ...only, nullable: true };
  return undefined;
}

/** Whether every part of the schema has one plain type the writer writes without choosing. */
function isWritable(schema: unknown): boolean {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return false;
  const record = schema as JsonSchema;
  for (const keyword of Object.keys(record)) if (unsupportedKeywords.has(keyword)) return false;
  if (Array.isArray(record.type) && record.type.some((type) => !primitiveTypes.has(type as string) && type !== 'null')) return false;
  if (record.type === undefined && Object.keys(record).some((keyword) => keyword !== 'description' && keyword !== 'title')) return false;
  if (record.properties !== undefined) {
    for (const property of Object.values(record.properties as JsonSchema)) if (!isWritable(property)) return false;
  }
  if (record.items !== undefined && !isWritable(record.items)) return false;
  if (record.additionalProperties !== undefined && typeof record.additionalProperties === 'object' && !isWritable(record.additionalProperties)) return false;
  return true;
}
