import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Shape comparison against real Statuspage v2 payloads (test/fixtures/statuspage): key sets and
 * key order at every object level, and value types.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type JsonObject = { [key: string]: Json }

export const FIXTURE_FILES = [
  'twilio-summary.json',
  'github-incidents.json',
  'discord-components.json',
  'discord-status.json',
  'discord-unresolved.json',
  'claude-scheduled-maintenances.json',
] as const
export type FixtureName = (typeof FIXTURE_FILES)[number]

/** Copies of the real payloads live in test/fixtures/statuspage (see its README). */
function findFixtureDir(): string {
  const fromEnv = process.env['STATUSPAGE_FIXTURES']
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'statuspage')
}

const cache = new Map<FixtureName, JsonObject>()

export function fixture(name: FixtureName): JsonObject {
  let value = cache.get(name)
  if (value === undefined) {
    value = JSON.parse(readFileSync(join(findFixtureDir(), name), 'utf8')) as JsonObject
    cache.set(name, value)
  }
  return value
}

export type Kind =
  | 'envelope'
  | 'page'
  | 'status'
  | 'component'
  | 'group'
  | 'incident'
  | 'maintenance'
  | 'update'
  | 'affected'

const KIND_OF_KEY: Record<string, Kind> = {
  page: 'page',
  status: 'status',
  components: 'component',
  incidents: 'incident',
  scheduled_maintenances: 'maintenance',
  incident_updates: 'update',
  affected_components: 'affected',
}

export function typeOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  return typeof value
}

function isObject(value: unknown): value is JsonObject {
  return typeOf(value) === 'object'
}

function kindOf(value: JsonObject, key: string | undefined): Kind {
  if (key === undefined) return 'envelope'
  const kind = KIND_OF_KEY[key]
  if (kind === undefined) throw new Error(`no kind for key ${key}`)
  return kind === 'component' && value['group'] === true ? 'group' : kind
}

/**
 * Fields added to the public API since the 2019/2020 captures, as the README of the fixtures
 * documents and the current (2026) captures show: components gained `start_date` after
 * `showcase`, incidents gained `reminder_intervals` at the end. Maintenances did not.
 */
export function upgradeKeys(kind: Kind, keys: string[]): string[] {
  const result = [...keys]
  if ((kind === 'component' || kind === 'group') && !result.includes('start_date')) {
    const at = result.indexOf('showcase')
    result.splice(at + 1, 0, 'start_date')
  }
  if (kind === 'incident' && !result.includes('reminder_intervals'))
    result.push('reminder_intervals')
  return result
}

/** Every value type each field of each kind has in any of the six fixtures. */
function collectTypes(): Map<string, Set<string>> {
  const types = new Map<string, Set<string>>()
  const add = (kind: Kind, key: string, type: string) => {
    const id = `${kind}.${key}`
    const set = types.get(id) ?? new Set<string>()
    set.add(type)
    types.set(id, set)
  }
  const walk = (value: Json, key: string | undefined) => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item, key)
      return
    }
    if (!isObject(value)) return
    const kind = kindOf(value, key)
    for (const [k, v] of Object.entries(value)) {
      add(kind, k, typeOf(v))
      if (kind === 'group' && k === 'components') continue
      walk(v, k)
    }
  }
  for (const name of FIXTURE_FILES) walk(fixture(name), undefined)
  // The fields the older captures lack: types as the current captures show them.
  add('component', 'start_date', 'null')
  add('component', 'start_date', 'string')
  add('group', 'start_date', 'null')
  add('group', 'start_date', 'string')
  add('incident', 'reminder_intervals', 'null')
  return types
}

let allTypes: Map<string, Set<string>> | undefined

export function allowedTypes(kind: Kind, key: string): Set<string> {
  allTypes ??= collectTypes()
  return allTypes.get(`${kind}.${key}`) ?? new Set()
}

export interface ShapeOptions {
  /** false for the sorted-keys capture: compare key sets only. */
  ordered: boolean
  /** Apply the documented schema additions to an older capture's keys. */
  upgrade: boolean
  /** Kinds compared against a real object at least once (filled in as the walk goes). */
  checked?: Set<Kind>
}

/**
 * Walks our output and a real payload side by side. Each of our objects is compared with a real
 * object of the same kind at the same place (a group with a group, a component with a
 * component); its keys must be the same, in the same order unless `ordered` is false, and each
 * value's type must be one the fixtures show for that field. Returns the problems found.
 */
export function compareShape(actual: unknown, expected: Json, options: ShapeOptions): string[] {
  const problems: string[] = []

  const compareObject = (
    ours: JsonObject,
    theirs: JsonObject,
    key: string | undefined,
    path: string,
  ) => {
    const kind = kindOf(ours, key)
    const theirKind = kindOf(theirs, key)
    if (kind !== theirKind) {
      problems.push(`${path}: compared a ${kind} with a ${theirKind}`)
      return
    }
    options.checked?.add(kind)
    const ourKeys = Object.keys(ours)
    let theirKeys = Object.keys(theirs)
    if (options.upgrade) theirKeys = upgradeKeys(kind, theirKeys)
    if (options.ordered) {
      if (ourKeys.join(',') !== theirKeys.join(','))
        problems.push(
          `${path} (${kind}): keys [${ourKeys.join(', ')}] != [${theirKeys.join(', ')}]`,
        )
    } else if ([...ourKeys].sort().join(',') !== [...theirKeys].sort().join(',')) {
      problems.push(
        `${path} (${kind}): key set [${[...ourKeys].sort().join(', ')}] != [${[...theirKeys].sort().join(', ')}]`,
      )
    }
    for (const k of ourKeys) {
      const value = ours[k] as Json
      const allowed = allowedTypes(kind, k)
      if (!allowed.has(typeOf(value)))
        problems.push(`${path}.${k}: ${typeOf(value)} is not one of ${[...allowed].join('|')}`)
      const their = theirs[k]
      if (their === undefined) continue
      if (kind === 'group' && k === 'components') {
        if (!Array.isArray(value) || value.some((id) => typeof id !== 'string'))
          problems.push(`${path}.components: a group lists its children's ids as strings`)
        continue
      }
      if (Array.isArray(value) && Array.isArray(their))
        compareArray(value, their, k, `${path}.${k}`)
      else if (isObject(value) && isObject(their)) compareObject(value, their, k, `${path}.${k}`)
    }
  }

  const compareArray = (ours: Json[], theirs: Json[], key: string, path: string) => {
    ours.forEach((item, index) => {
      if (!isObject(item)) {
        problems.push(`${path}[${String(index)}]: ${typeOf(item)} where objects are expected`)
        return
      }
      const kind = kindOf(item, key)
      const match = theirs.find((t): t is JsonObject => isObject(t) && kindOf(t, key) === kind)
      // No real object of that kind here (an empty list in the capture): nothing to compare with.
      if (match !== undefined) compareObject(item, match, key, `${path}[${String(index)}]`)
    })
  }

  if (!isObject(actual) || !isObject(expected)) return ['the payloads are not objects']
  compareObject(actual, expected, undefined, '$')
  return problems
}

/** Every object in a payload with its kind, for checks that look at each one. */
export function objectsOf(value: unknown): { kind: Kind; path: string; object: JsonObject }[] {
  const found: { kind: Kind; path: string; object: JsonObject }[] = []
  const walk = (v: unknown, key: string | undefined, path: string) => {
    if (Array.isArray(v)) {
      v.forEach((item, i) => {
        walk(item, key, `${path}[${String(i)}]`)
      })
      return
    }
    if (!isObject(v)) return
    const kind = kindOf(v, key)
    found.push({ kind, path, object: v })
    for (const [k, child] of Object.entries(v)) {
      if (kind === 'group' && k === 'components') continue
      if (isObject(child) || Array.isArray(child)) walk(child, k, `${path}.${k}`)
    }
  }
  walk(value, undefined, '$')
  return found
}
