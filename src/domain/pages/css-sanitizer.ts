import * as csstree from 'css-tree'

export const CUSTOM_CSS_MAX_BYTES = 20_000

export interface SanitizedCss {
  css: string
  removed: string[]
}

const FORBIDDEN_AT_RULES = new Set(['import', 'namespace', 'font-face', 'charset'])
const FORBIDDEN_FUNCTIONS = new Set([
  'url',
  'image-set',
  '-webkit-image-set',
  'image',
  'element',
  'expression',
  'src',
])
const FORBIDDEN_PROPERTIES = new Set(['behavior', '-moz-binding'])

/**
 * Custom CSS is parsed and re-serialised: nothing that can load a resource (url(), @import,
 * @font-face, image-set()) or run code (expression(), behavior) survives, and the output is plain
 * CSS served as its own stylesheet, so it cannot close a tag or leave the style context.
 */
export function sanitizeCustomCss(input: string): SanitizedCss {
  const removed: string[] = []
  if (input.trim() === '') return { css: '', removed }
  const ast = csstree.parse(input, {
    parseValue: true,
    parseCustomProperty: true,
    onParseError: () => {
      removed.push('unparseable rule')
    },
  })
  csstree.walk(ast, {
    visit: 'Atrule',
    enter(node, item, list) {
      if (FORBIDDEN_AT_RULES.has(csstree.keyword(node.name).basename)) {
        removed.push(`@${node.name}`)
        list.remove(item)
      }
    },
  })
  csstree.walk(ast, {
    visit: 'Declaration',
    enter(node, item, list) {
      const property = csstree.property(node.property).basename
      let forbidden = FORBIDDEN_PROPERTIES.has(property)
      csstree.walk(node.value, (child) => {
        if (child.type === 'Url') forbidden = true
        if (child.type === 'Function' && FORBIDDEN_FUNCTIONS.has(child.name.toLowerCase()))
          forbidden = true
        if (child.type === 'Raw' && /url\s*\(|expression\s*\(|\\|javascript:/i.test(child.value))
          forbidden = true
      })
      if (forbidden) {
        removed.push(node.property)
        list.remove(item)
      }
    },
  })
  csstree.walk(ast, {
    visit: 'Raw',
    enter(node, item, list) {
      removed.push('raw text')
      list.remove(item)
    },
  })
  const css = csstree.generate(ast).replace(/</g, '\\3c ')
  return { css, removed }
}
