/**
 * A small HTML tag reader for assertions: walks the markup the way a browser's tokenizer finds
 * tags (quoted attribute values may hold '>'), so tests look at real elements and attributes,
 * not at text that merely spells them.
 */
export interface Tag {
  name: string
  attrs: Record<string, string>
  /** Offset of the '<' in the document. */
  at: number
}

const RAW_TEXT = new Set(['script', 'style', 'textarea', 'title'])

export function tags(html: string): Tag[] {
  const result: Tag[] = []
  let i = 0
  while (i < html.length) {
    const lt = html.indexOf('<', i)
    if (lt === -1) break
    if (html.startsWith('<!--', lt)) {
      const end = html.indexOf('-->', lt + 4)
      i = end === -1 ? html.length : end + 3
      continue
    }
    const next = html[lt + 1] ?? ''
    if (next === '!' || next === '?' || next === '/') {
      const end = html.indexOf('>', lt)
      i = end === -1 ? html.length : end + 1
      continue
    }
    const nameMatch = /^[a-zA-Z][^\s/>]*/.exec(html.slice(lt + 1))
    if (nameMatch === null) {
      i = lt + 1
      continue
    }
    const name = nameMatch[0].toLowerCase()
    let j = lt + 1 + nameMatch[0].length
    const attrs: Record<string, string> = {}
    while (j < html.length) {
      while (j < html.length && /[\s/]/.test(html[j] ?? '')) j++
      if (html[j] === '>' || j >= html.length) break
      const attrMatch = /^[^\s/>=]+/.exec(html.slice(j))
      if (attrMatch === null) {
        j++
        continue
      }
      const attrName = attrMatch[0].toLowerCase()
      j += attrMatch[0].length
      while (/\s/.test(html[j] ?? '')) j++
      let value = ''
      if (html[j] === '=') {
        j++
        while (/\s/.test(html[j] ?? '')) j++
        const quote = html[j]
        if (quote === '"' || quote === "'") {
          const end = html.indexOf(quote, j + 1)
          value = html.slice(j + 1, end === -1 ? html.length : end)
          j = end === -1 ? html.length : end + 1
        } else {
          const m = /^[^\s>]*/.exec(html.slice(j))
          value = m?.[0] ?? ''
          j += value.length
        }
      }
      attrs[attrName] = decode(value)
    }
    result.push({ name, attrs, at: lt })
    i = j + 1
    if (RAW_TEXT.has(name)) {
      const close = html.toLowerCase().indexOf(`</${name}`, i)
      i = close === -1 ? html.length : close
    }
  }
  return result
}

export function decode(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#x([0-9a-f]+);/gi, (_m, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_m, dec: string) => String.fromCodePoint(Number(dec)))
    .replace(/&amp;/g, '&')
}

/** The document's text with tags removed and entities decoded, whitespace collapsed. */
export function textOf(html: string): string {
  return decode(
    html
      .replace(/<(script|style|title)[\s\S]*?<\/\1>/gi, ' ')
      .replace(/<[^>]*>/g, ' ')
      .replace(/\s+/g, ' '),
  ).trim()
}

/** Browsers ignore tabs and newlines inside URL schemes ("java\tscript:"). */
function stripControls(value: string): string {
  let out = ''
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 0x1f) out += value.charAt(i)
  return out
}

/** Everything that can run script: script elements, on* handlers, javascript: URLs, srcdoc. */
export function dangerousMarkup(html: string): string[] {
  const problems: string[] = []
  for (const tag of tags(html)) {
    if (['script', 'iframe', 'object', 'embed', 'base'].includes(tag.name))
      problems.push(`<${tag.name}>`)
    for (const [name, value] of Object.entries(tag.attrs)) {
      if (name.startsWith('on')) problems.push(`${tag.name}[${name}]`)
      if (name === 'style') problems.push(`${tag.name}[style]`)
      if (name === 'srcdoc') problems.push(`${tag.name}[srcdoc]`)
      if (
        ['href', 'src', 'action', 'formaction', 'xlink:href', 'poster', 'data'].includes(name) &&
        /^\s*(javascript|vbscript|data):/i.test(stripControls(value))
      )
        problems.push(`${tag.name}[${name}=${value}]`)
    }
  }
  return problems
}

/** The outer HTML of the first element carrying this class. */
export function sectionWithClass(html: string, className: string): string {
  return elementAt(
    html,
    html.search(new RegExp(`<(\\w+)[^>]*class="(?:[^"]*\\s)?${className}(?:\\s[^"]*)?"`)),
  )
}

/** The outer HTML of the element with this id. */
export function elementById(html: string, id: string): string {
  return elementAt(html, html.search(new RegExp(`<(\\w+)[^>]*\\sid="${id}"`)))
}

function elementAt(html: string, start: number): string {
  if (start === -1) return ''
  const name = /^<(\w+)/.exec(html.slice(start))?.[1] ?? 'div'
  let depth = 0
  const re = new RegExp(`<(/?)${name}\\b[^>]*>`, 'g')
  re.lastIndex = start
  for (let m = re.exec(html); m !== null; m = re.exec(html)) {
    depth += m[1] === '/' ? -1 : 1
    if (depth === 0) return html.slice(start, m.index + m[0].length)
  }
  return html.slice(start)
}
