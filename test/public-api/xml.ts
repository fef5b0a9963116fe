import { XMLParser, XMLValidator } from 'fast-xml-parser'

/** Characters allowed in an XML 1.0 document (the Char production). */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u
/** An ampersand that does not start a predefined entity or a character reference. */
const BARE_AMPERSAND = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/

/**
 * Well-formedness, as far as a test needs it: fast-xml-parser's validator (tag nesting,
 * attribute syntax) plus what it does not check: characters outside XML 1.0, references to
 * undefined entities, `<` inside attribute values, and a single root element.
 */
export function xmlProblems(xml: string): string[] {
  const problems: string[] = []
  // Deprecated in 5.x in favour of a separate package (not needed for one call in tests).
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  const result = XMLValidator.validate(xml)
  if (result !== true)
    problems.push(`${result.err.code}: ${result.err.msg} (line ${String(result.err.line)})`)
  const bad = NOT_XML_CHAR.exec(xml)
  if (bad !== null)
    problems.push(`character U+${(bad[0].codePointAt(0) ?? 0).toString(16)} is not allowed in XML`)
  const amp = BARE_AMPERSAND.exec(xml)
  if (amp !== null)
    problems.push(`bare & at ${String(amp.index)}: ${xml.slice(amp.index, amp.index + 12)}`)
  for (const match of xml.matchAll(/<[^!?/][^>]*>/g))
    if (/="[^"]*</.test(match[0])) problems.push(`< in an attribute value: ${match[0]}`)
  const roots = Object.keys(parseXml(xml)).filter((key) => key !== '?xml')
  if (roots.length !== 1) problems.push(`${String(roots.length)} root elements`)
  return problems
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  processEntities: true,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  isArray: (name) => name === 'entry' || name === 'item' || name === 'link' || name === 'text',
})

/** A parsed element: text in #text, attributes under @name, children by tag name. */
export type TextNode = string | { '#text'?: string; [attribute: string]: unknown }

/** Parses a document; the caller names the shape it expects (a test reads it, and fails). */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
export function parseXml<T = Record<string, unknown>>(xml: string): T {
  return parser.parse(xml) as T
}

/** The text of an element that may also carry attributes. */
export function textOf(node: TextNode | undefined): string {
  if (node === undefined) return ''
  if (typeof node === 'string') return node
  return node['#text'] ?? ''
}
