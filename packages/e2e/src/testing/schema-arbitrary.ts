import fc from 'fast-check';

/** The part of JSON Schema (as the services' OpenAPI 3.0 documents write it) that requests are generated from. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  nullable?: boolean;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
}

/**
 * Values an attacker or a careless client sends: what the database cannot store (NUL, unpaired
 * surrogates), what looks like syntax of some layer (SQL, placeholders, paths), edge numbers,
 * wrong types, deep nesting, and sizes near the limits.
 */
const hostileStrings = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '',
  ' ',
  '%00',
  '%zz',
  '../../etc/passwd',
  "' OR '1'='1' --",
  '${voipbin.call.id}',
  '\u202eevil',
  '\ufeff',
  '\r\nX-Injected: 1',
  '<script>alert(1)</script>',
  'A'.repeat(10_001),
  '\u{1F4A5}'.repeat(300),
  '__proto__',
  'constructor',
  'null',
  '-1',
  '1e309',
  '00000000-0000-0000-0000-000000000000',
];

const hostileNumbers = [0, -1, -0, 0.5, 1e308, -1e308, 2 ** 31, 2 ** 31 - 1, -(2 ** 31) - 1, 2 ** 53 + 2, -(2 ** 63), 1e-320];

function nestedArrays(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let level = 0; level < depth; level += 1) value = level % 2 === 0 ? [value] : { nested: value };
  return value;
}

/** One hostile value of any type. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...hostileStrings) },
  { weight: 2, arbitrary: fc.constantFrom(...hostileNumbers) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, true, false, [], {}, { 'key\u0000': 1 }, ['\u0000']) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 200 }).map(nestedArrays) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

export interface SchemaArbitraryOptions {
  /**
   * A uuid-formatted field's value, by field name (`flow_id`, `knowledgebase_ids`): ids that
   * exist are worth more than random ones, since they reach the database writes.
   */
  uuid: (field: string) => fc.Arbitrary<string>;
  /** Weight of a hostile value against 10 for a value of the schema (0: never). */
  hostileWeight: number;
}

/** Requests are small: long strings come from the hostile values, not from here. */
const maxGeneratedLength = 24;
const maxGeneratedItems = 3;

/** Values for `schema`: mostly what it describes, sometimes (at every level) a hostile value instead. */
export function schemaArbitrary(schema: JsonSchema, options: SchemaArbitraryOptions, field = ''): fc.Arbitrary<unknown> {
  const valid = validArbitrary(schema, options, field);
  if (options.hostileWeight <= 0) return valid;
  return fc.oneof({ weight: 10, arbitrary: valid }, { weight: options.hostileWeight, arbitrary: hostileValue });
}

function validArbitrary(schema: JsonSchema, options: SchemaArbitraryOptions, field: string): fc.Arbitrary<unknown> {
  const plain = shapeArbitrary(schema, options, field);
  return schema.nullable ? fc.oneof({ weight: 4, arbitrary: plain }, { weight: 1, arbitrary: fc.constant(null) }) : plain;
}

function shapeArbitrary(schema: JsonSchema, options: SchemaArbitraryOptions, field: string): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum && schema.enum.length > 0) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives && alternatives.length > 0) return fc.oneof(...alternatives.map((alternative) => schemaArbitrary({ ...withoutCombinators(schema), ...alternative }, options, field)));
  if (schema.allOf && schema.allOf.length > 0) return schemaArbitrary(Object.assign({}, withoutCombinators(schema), ...schema.allOf) as JsonSchema, options, field);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      return stringArbitrary(schema, options, field);
    case 'integer':
      return fc.integer({ min: Math.max(schema.minimum ?? -1000, Number.MIN_SAFE_INTEGER), max: Math.min(schema.maximum ?? 1000, Number.MAX_SAFE_INTEGER) });
    case 'number':
      return fc.double({ min: schema.minimum ?? -1000, max: schema.maximum ?? 1000, noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(schemaArbitrary(schema.items ?? {}, options, field), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.max(schema.minItems ?? 0, Math.min(schema.maxItems ?? maxGeneratedItems, maxGeneratedItems)),
      });
    case 'object':
      return objectArbitrary(schema, options);
    default:
      // No type: any JSON (e.g. the values of `parameter`).
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function withoutCombinators(schema: JsonSchema): JsonSchema {
  const { anyOf: _anyOf, oneOf: _oneOf, allOf: _allOf, ...rest } = schema;
  return rest;
}

function stringArbitrary(schema: JsonSchema, options: SchemaArbitraryOptions, field: string): fc.Arbitrary<string> {
  if (schema.format === 'uuid') return options.uuid(field);
  if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern));
  const minLength = schema.minLength ?? 0;
  const maxLength = Math.max(minLength, Math.min(schema.maxLength ?? maxGeneratedLength, maxGeneratedLength));
  return fc.string({ unit: 'grapheme', minLength, maxLength });
}

function objectArbitrary(schema: JsonSchema, options: SchemaArbitraryOptions): fc.Arbitrary<unknown> {
  const properties = schema.properties ?? {};
  const known = fc.record(
    Object.fromEntries(Object.entries(properties).map(([name, property]) => [name, schemaArbitrary(property, options, name)])),
    { requiredKeys: (schema.required ?? []).filter((name) => name in properties) },
  );
  const extraSchema = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
  // Unknown fields: what additionalProperties allows, and now and then one that is not allowed.
  const extra = extraSchema
    ? fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 12 }), schemaArbitrary(extraSchema, options), { maxKeys: maxGeneratedItems })
    : fc.oneof({ weight: 9, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: fc.record({ unexpected_field: hostileValue }) });
  return fc.tuple(known, extra).map(([fields, more]) => ({ ...more, ...fields }));
}

/** Every path (as keys) to a value inside `value`, the value itself included (as `[]`). */
export function valuePaths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const paths: (string | number)[][] = [prefix];
  if (Array.isArray(value)) value.forEach((item, index) => paths.push(...valuePaths(item, [...prefix, index])));
  else if (value !== null && typeof value === 'object') for (const [key, item] of Object.entries(value)) paths.push(...valuePaths(item, [...prefix, key]));
  return paths;
}

/** A copy of `value` with what is at `path` replaced by `replacement` (the whole value for `[]`). */
export function replaceAt(value: unknown, path: (string | number)[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path as [string | number, ...(string | number)[]];
  if (Array.isArray(value)) return value.map((item, index) => (index === head ? replaceAt(item, rest, replacement) : item));
  const record = value as Record<string, unknown>;
  return { ...record, [head]: replaceAt(record[head], rest, replacement) };
}
