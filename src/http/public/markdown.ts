import MarkdownIt from 'markdown-it'

/**
 * Incident text is markdown written by editors and read by everyone: raw HTML is not allowed
 * (markdown-it escapes it), only http(s) and mailto links survive, and every link opens with
 * rel="nofollow noopener noreferrer" so a status page lends no authority and no window handle.
 */
const md = new MarkdownIt({ html: false, linkify: true, typographer: false, breaks: true })

md.validateLink = (url: string) => /^(https?:|mailto:)/i.test(url.trim())

const defaultLinkOpen =
  md.renderer.rules['link_open'] ??
  ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options))
md.renderer.rules['link_open'] = (tokens, idx, options, env, self) => {
  const token = tokens[idx]
  if (token !== undefined) token.attrSet('rel', 'nofollow noopener noreferrer')
  return defaultLinkOpen(tokens, idx, options, env, self)
}
md.renderer.rules['image'] = (tokens, idx) => {
  const token = tokens[idx]
  return md.utils.escapeHtml(token?.content ?? '')
}

export function renderMarkdown(text: string): string {
  return md.render(text)
}

/** Markdown reduced to plain text, for feeds' summaries and notification subjects. */
export function markdownToText(text: string): string {
  return renderMarkdown(text)
    .replace(/<br\s*\/?>/g, '\n')
    .replace(/<\/(p|li|h[1-6])>/g, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\n{3,}/g, '\n\n')
    .trim()
}
