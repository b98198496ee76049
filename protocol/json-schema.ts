// A small checker of the JSON Schemas zod writes for our own schemas (z.toJSONSchema), for the
// one-shot command line: occdb client and occdb status check what they read with it instead
// of loading zod, which alone took longer to load than their whole work. zod stays the one
// definition: the schemas checked here are generated from it (protocol/wire-json-schemas.ts,
// cluster/cluster-file-json-schema.ts), and test/json-schemas.test.ts holds the two to the same
// answers. Only the keywords those schemas use are known; any other throws, so that a schema
// that starts using one fails its test instead of being half checked.
//
// It answers as zod's parse does: objects keep only their own properties (unknown ones are
// dropped), a missing property with a default gets it, and the first branch of a union that
// accepts the value gives the result.

/** The subset of JSON Schema (draft 2020-12) that zod writes for our schemas. */
export interface JsonSchema {
  $schema?: string;
  type?: 'string' | 'number' | 'integer' | 'boolean' | 'null' | 'array' | 'object';
  const?: unknown;
  enum?: readonly unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchema | false;
  prefixItems?: readonly JsonSchema[];
  properties?: Readonly<Record<string, JsonSchema>>;
  required?: readonly string[];
  additionalProperties?: JsonSchema | boolean;
  propertyNames?: JsonSchema;
  anyOf?: readonly JsonSchema[];
  oneOf?: readonly JsonSchema[];
}

const KNOWN_KEYWORDS = new Set([
  '$schema', 'type', 'const', 'enum', 'default', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength',
  'pattern', 'minItems', 'maxItems', 'items', 'prefixItems', 'properties', 'required', 'additionalProperties', 'propertyNames', 'anyOf', 'oneOf',
]);

export type CheckResult<T> = { success: true; data: T } | { success: false; message: string };

/** Why a value was refused, and where in it. */
class Refusal extends Error {
  constructor(message: string, readonly path: readonly (string | number)[]) {
    super(message);
  }
}

/** Patterns compiled once each: a schema is checked many times over a process's life. */
const patterns = new Map<string, RegExp>();

/** Schemas whose keywords were found known, and objects' properties as entries: each looked at once. */
const keywordsChecked = new WeakSet<JsonSchema>();
const propertyEntries = new WeakMap<JsonSchema, ReadonlyArray<readonly [string, JsonSchema]>>();

/** `value` checked against `schema`: the value as zod would return it, or why it is refused (with where). */
export function checkJson<T>(schema: JsonSchema, value: unknown): CheckResult<T> {
  try {
    return { success: true, data: check(schema, value, []) as T };
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    return { success: false, message: error.path.length > 0 ? `${error.message} at ${error.path.join('.')}` : error.message };
  }
}

/**
 * Refuses at `path`, which the check shares down the value (each level pushes its name and pops
 * it): the refusal takes a copy, so a value's check copies no path unless it is refused.
 */
function refuse(message: string, path: readonly (string | number)[]): never {
  throw new Refusal(message, [...path]);
}

function check(schema: JsonSchema, value: unknown, path: (string | number)[]): unknown {
  if (!keywordsChecked.has(schema)) {
    for (const keyword of Object.keys(schema)) {
      if (!KNOWN_KEYWORDS.has(keyword)) throw new Error(`json-schema.ts does not know the keyword ${keyword}`);
    }
    keywordsChecked.add(schema);
  }
  if (schema.anyOf !== undefined || schema.oneOf !== undefined) return checkUnion(schema.anyOf ?? schema.oneOf ?? [], value, path);
  if (schema.const !== undefined && value !== schema.const) refuse(`expected ${JSON.stringify(schema.const)}`, path);
  if (schema.enum !== undefined && !schema.enum.includes(value)) refuse(`expected one of ${schema.enum.map((option) => JSON.stringify(option)).join(', ')}`, path);
  switch (schema.type) {
    case undefined:
      return value;
    case 'null':
      return value === null ? null : refuse('expected null', path);
    case 'boolean':
      return typeof value === 'boolean' ? value : refuse('expected a boolean', path);
    case 'string':
      return checkString(schema, value, path);
    case 'number':
    case 'integer':
      return checkNumber(schema, value, path);
    case 'array':
      return checkArray(schema, value, path);
    case 'object':
      return checkObject(schema, value, path);
  }
}

function checkUnion(branches: readonly JsonSchema[], value: unknown, path: (string | number)[]): unknown {
  const depth = path.length;
  let first: Refusal | null = null;
  for (const branch of branches) {
    try {
      return check(branch, value, path);
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      // The branch refused somewhere inside: its names are still on the shared path.
      path.length = depth;
      first ??= error;
    }
  }
  throw first ?? new Refusal('no schema to match', [...path]);
}

function checkString(schema: JsonSchema, value: unknown, path: readonly (string | number)[]): string {
  if (typeof value !== 'string') return refuse('expected a string', path);
  // zod counts UTF-16 code units, as String.length does.
  if (schema.minLength !== undefined && value.length < schema.minLength) refuse(`expected at least ${schema.minLength} characters`, path);
  if (schema.maxLength !== undefined && value.length > schema.maxLength) refuse(`expected at most ${schema.maxLength} characters`, path);
  if (schema.pattern !== undefined) {
    let pattern = patterns.get(schema.pattern);
    if (pattern === undefined) patterns.set(schema.pattern, (pattern = new RegExp(schema.pattern)));
    if (!pattern.test(value)) refuse(`expected a string matching ${schema.pattern}`, path);
  }
  return value;
}

function checkNumber(schema: JsonSchema, value: unknown, path: readonly (string | number)[]): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return refuse('expected a number', path);
  if (schema.type === 'integer' && !Number.isInteger(value)) refuse('expected an integer', path);
  if (schema.minimum !== undefined && value < schema.minimum) refuse(`expected a number >= ${schema.minimum}`, path);
  if (schema.maximum !== undefined && value > schema.maximum) refuse(`expected a number <= ${schema.maximum}`, path);
  if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) refuse(`expected a number > ${schema.exclusiveMinimum}`, path);
  if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) refuse(`expected a number < ${schema.exclusiveMaximum}`, path);
  return value;
}

function checkArray(schema: JsonSchema, value: unknown, path: (string | number)[]): unknown[] {
  if (!Array.isArray(value)) return refuse('expected an array', path);
  if (schema.minItems !== undefined && value.length < schema.minItems) refuse(`expected at least ${schema.minItems} items`, path);
  if (schema.maxItems !== undefined && value.length > schema.maxItems) refuse(`expected at most ${schema.maxItems} items`, path);
  const prefix = schema.prefixItems ?? [];
  const output = new Array<unknown>(value.length);
  for (let index = 0; index < value.length; index++) {
    const item: unknown = value[index];
    const itemSchema = index < prefix.length ? prefix[index]! : schema.items;
    if (itemSchema === false) return refuse(`expected at most ${prefix.length} items`, path);
    if (itemSchema === undefined) {
      output[index] = item;
      continue;
    }
    path.push(index);
    output[index] = check(itemSchema, item, path);
    path.pop();
  }
  return output;
}

function checkObject(schema: JsonSchema, value: unknown, path: (string | number)[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return refuse('expected an object', path);
  const input = value as Record<string, unknown>;
  const output: Record<string, unknown> = {};
  for (const name of schema.required ?? []) {
    if (input[name] === undefined && schema.properties?.[name]?.default === undefined) refuse('required', [...path, name]);
  }
  let properties = propertyEntries.get(schema);
  if (properties === undefined) propertyEntries.set(schema, (properties = Object.entries(schema.properties ?? {})));
  for (const [name, propertySchema] of properties) {
    const property = Object.hasOwn(input, name) ? input[name] : undefined;
    if (property !== undefined) {
      path.push(name);
      output[name] = check(propertySchema, property, path);
      path.pop();
    } else if (propertySchema.default !== undefined) {
      output[name] = structuredClone(propertySchema.default);
    }
  }
  // A record (z.record): every other property, checked by the one schema; an object's own
  // properties only otherwise, as zod drops the rest.
  if (typeof schema.additionalProperties === 'object') {
    for (const [name, property] of Object.entries(input)) {
      if (schema.properties?.[name] !== undefined) continue;
      path.push(name);
      if (schema.propertyNames !== undefined) check(schema.propertyNames, name, path);
      output[name] = check(schema.additionalProperties, property, path);
      path.pop();
    }
  }
  return output;
}
