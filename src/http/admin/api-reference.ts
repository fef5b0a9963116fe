/**
 * The management API's reference, read from its OpenAPI document (the one the route schemas
 * generate), so the page the dashboard shows cannot drift from what the API does.
 */

export interface ReferenceType {
  text: string
  /** The named schema the type is, or is an array of: the page links to its fields. */
  ref?: string | undefined
}

export interface ReferenceField {
  name: string
  type: ReferenceType
  required: boolean
  notes: string[]
}

export interface ReferenceParameter extends ReferenceField {
  in: string
}

export interface ReferenceResponse {
  status: string
  meaning: string
  type: ReferenceType | undefined
}

export interface ReferenceOperation {
  anchor: string
  method: string
  path: string
  summary: string
  parameters: ReferenceParameter[]
  body: ReferenceField[]
  responses: ReferenceResponse[]
}

export interface ReferenceGroup {
  tag: string
  anchor: string
  operations: ReferenceOperation[]
}

export interface ApiReference {
  title: string
  version: string
  description: string
  serverUrl: string
  groups: ReferenceGroup[]
  objects: { name: string; anchor: string; fields: ReferenceField[] }[]
}

type Json = Record<string, unknown>

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const
const MAX_DEPTH = 6

const STATUS_MEANINGS: Record<string, string> = {
  '200': 'OK',
  '201': 'Created',
  '204': 'Done; no body',
  '400': 'The request does not match its schema (errors names each field)',
  '401': 'No API key, or an unknown, revoked or expired one',
  '403': 'The key’s scope or its creator’s role is too small',
  '404': 'Not found, or not visible to this key',
  '409': 'Conflict (e.g. an Idempotency-Key still being answered)',
  '422': 'Invalid input (errors names each field), or an Idempotency-Key reused with another body',
  '429': 'Rate limit reached: see Retry-After and RateLimit-Reset',
}

function asObject(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Json)
    : undefined
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : []
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

export function anchorFor(...parts: string[]): string {
  return parts
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
}

function refName(ref: string): string {
  return ref.slice(ref.lastIndexOf('/') + 1)
}

/** The constants a schema allows, when it is only constants (an enum, or a union of them). */
function constantsOf(schema: Json): string[] | undefined {
  if (Array.isArray(schema['enum'])) return (schema['enum'] as unknown[]).map((v) => String(v))
  if ('const' in schema) return [String(schema['const'])]
  const parts = asArray(schema['anyOf'] ?? schema['oneOf']).map(asObject)
  if (parts.length === 0) return undefined
  const values: string[] = []
  for (const part of parts) {
    const constants = part === undefined ? undefined : constantsOf(part)
    if (constants === undefined) return undefined
    values.push(...constants)
  }
  return values
}

export function describeType(schema: unknown, depth = 0): ReferenceType {
  const s = asObject(schema)
  if (s === undefined || depth > MAX_DEPTH) return { text: 'any' }
  const ref = asString(s['$ref'])
  if (ref !== undefined) return { text: refName(ref), ref: refName(ref) }
  const constants = constantsOf(s)
  if (constants !== undefined)
    return {
      text: constants.length === 1 ? `"${constants[0] ?? ''}"` : `one of ${constants.join(', ')}`,
    }
  const union = asArray(s['anyOf'] ?? s['oneOf'])
  if (union.length > 0) {
    const parts = union.map((part) => describeType(part, depth + 1))
    const nonNull = parts.filter((p) => p.text !== 'null')
    const text = parts.map((p) => p.text).join(' or ')
    return nonNull.length === 1 && nonNull[0]?.ref !== undefined
      ? { text, ref: nonNull[0].ref }
      : { text }
  }
  const all = asArray(s['allOf'])
  if (all.length > 0) return { text: all.map((p) => describeType(p, depth + 1).text).join(' and ') }
  const type = s['type']
  if (Array.isArray(type)) return { text: type.map(String).join(' or ') }
  switch (type) {
    case 'array': {
      const items = describeType(s['items'], depth + 1)
      return { text: `array of ${items.text}`, ref: items.ref }
    }
    case 'object': {
      const extra = asObject(s['additionalProperties'])
      if (extra !== undefined && asObject(s['properties']) === undefined)
        return { text: `object of ${describeType(extra, depth + 1).text}` }
      return { text: 'object' }
    }
    case 'string': {
      const format = asString(s['format'])
      return { text: format === undefined ? 'string' : `string (${format})` }
    }
    case undefined:
      return { text: 'any' }
    default:
      return { text: String(type) }
  }
}

/** Limits and defaults worth knowing, in words. */
function notesOf(schema: unknown): string[] {
  const s = asObject(schema)
  if (s === undefined) return []
  const notes: string[] = []
  const description = asString(s['description'])
  if (description !== undefined) notes.push(description)
  // Limits of the non-null member of a "T or null".
  const members = asArray(s['anyOf']).map(asObject)
  const target =
    members.length === 2 && members.some((m) => m?.['type'] === 'null')
      ? (members.find((m) => m?.['type'] !== 'null') ?? s)
      : s
  const num = (key: string) => {
    const value = target[key]
    return typeof value === 'number' ? value : undefined
  }
  const minLength = num('minLength')
  const maxLength = num('maxLength')
  if (maxLength !== undefined)
    notes.push(
      minLength !== undefined && minLength > 0
        ? `${String(minLength)} to ${String(maxLength)} characters`
        : `at most ${String(maxLength)} characters`,
    )
  const minimum = num('minimum')
  const maximum = num('maximum')
  if (minimum !== undefined && maximum !== undefined)
    notes.push(`from ${String(minimum)} to ${String(maximum)}`)
  else if (minimum !== undefined) notes.push(`at least ${String(minimum)}`)
  else if (maximum !== undefined) notes.push(`at most ${String(maximum)}`)
  const maxItems = num('maxItems')
  if (maxItems !== undefined) notes.push(`at most ${String(maxItems)} items`)
  if ('default' in s) notes.push(`default ${JSON.stringify(s['default'])}`)
  return notes
}

/** An object's fields, nested objects written as a.b. */
export function fieldsOf(schema: unknown, prefix = '', depth = 0): ReferenceField[] {
  const s = asObject(schema)
  const properties = asObject(s?.['properties'])
  if (s === undefined || properties === undefined || depth > MAX_DEPTH) return []
  const required = new Set(asArray(s['required']).map(String))
  return Object.entries(properties).flatMap(([name, property]) => {
    const field: ReferenceField = {
      name: `${prefix}${name}`,
      type: describeType(property),
      required: required.has(name),
      notes: notesOf(property),
    }
    const nested = fieldsOf(property, `${prefix}${name}.`, depth + 1)
    return [field, ...nested]
  })
}

function jsonSchemaOf(content: unknown): unknown {
  const media = asObject(content)
  if (media === undefined) return undefined
  const json = asObject(media['application/json']) ?? asObject(Object.values(media)[0])
  return json?.['schema']
}

function operationOf(path: string, method: string, raw: Json): ReferenceOperation {
  const parameters = asArray(raw['parameters']).flatMap((value) => {
    const p = asObject(value)
    const name = asString(p?.['name'])
    if (p === undefined || name === undefined) return []
    const description = asString(p['description'])
    return [
      {
        name,
        in: asString(p['in']) ?? 'query',
        required: p['required'] === true,
        type: describeType(p['schema']),
        notes: [...(description === undefined ? [] : [description]), ...notesOf(p['schema'])],
      },
    ]
  })
  // Path parameters first, then the query.
  parameters.sort((a, b) => Number(b.in === 'path') - Number(a.in === 'path'))
  const requestBody = asObject(raw['requestBody'])
  const responses = Object.entries(asObject(raw['responses']) ?? {}).map(([status, value]) => {
    const response = asObject(value)
    const described = asString(response?.['description'])
    const schema = jsonSchemaOf(response?.['content'])
    return {
      status,
      meaning:
        described === undefined || described === 'Default Response'
          ? (STATUS_MEANINGS[status] ?? '')
          : described,
      type: schema === undefined ? undefined : describeType(schema),
    }
  })
  return {
    anchor: anchorFor(method, path),
    method: method.toUpperCase(),
    path,
    summary: asString(raw['summary']) ?? '',
    parameters,
    body: requestBody === undefined ? [] : fieldsOf(jsonSchemaOf(requestBody['content'])),
    responses,
  }
}

export function buildApiReference(document: unknown): ApiReference {
  const doc = asObject(document) ?? {}
  const info = asObject(doc['info']) ?? {}
  const groups = new Map<string, ReferenceOperation[]>()
  for (const [path, value] of Object.entries(asObject(doc['paths']) ?? {})) {
    const item = asObject(value) ?? {}
    for (const method of METHODS) {
      const raw = asObject(item[method])
      if (raw === undefined) continue
      const tag = asString(asArray(raw['tags'])[0]) ?? 'Other'
      const list = groups.get(tag) ?? []
      list.push(operationOf(path, method, raw))
      groups.set(tag, list)
    }
  }
  const schemas = asObject(asObject(doc['components'])?.['schemas']) ?? {}
  const server = asObject(asArray(doc['servers'])[0])
  return {
    title: asString(info['title']) ?? 'API',
    version: asString(info['version']) ?? '',
    description: asString(info['description']) ?? '',
    serverUrl: asString(server?.['url']) ?? '',
    groups: [...groups].map(([tag, operations]) => ({
      tag,
      anchor: anchorFor('tag', tag),
      operations,
    })),
    objects: Object.entries(schemas).map(([name, schema]) => ({
      name,
      anchor: anchorFor('schema', name),
      fields: fieldsOf(schema),
    })),
  }
}
