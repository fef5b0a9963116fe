import { describe, expect, it } from 'vitest'
import type { PageSnapshot } from '../../src/domain/pages/types.js'
import {
  renderHistoryPage,
  renderIncidentPage,
  renderPasswordPage,
  renderStatusPage,
} from '../../src/http/public/views/index.js'
import { dangerousMarkup, tags } from './html.js'
import { ctxFor, makePage, makeSnapshot, NOW } from './snapshot-fixture.js'

const SCRIPT = '<script>alert(1)</script>'
const BREAKOUT = '"><img src=x onerror=alert(1)>'
const JS_URL = 'javascript:alert(1)'
const EVIL = `${SCRIPT} ${BREAKOUT} ${JS_URL} '><svg onload=alert(1)>`

const MARKDOWN_EVIL = [
  `Look ${SCRIPT} and ${BREAKOUT}`,
  '',
  '[x](javascript:alert(1)) [y](JaVaScRiPt:alert(1)) [z](data:text/html;base64,PHNjcmlwdD4=)',
  '',
  '<img src=x onerror=alert(1)> <a href="javascript:alert(1)">raw</a>',
  '',
  '![pic](javascript:alert(1)) ![pic2](https://evil.test/x.png" onerror="alert(1))',
  '',
  '[ok](https://example.test/a?b="c") and https://example.test/auto',
  '',
  '<iframe src="https://evil.test"></iframe><style>body{display:none}</style>',
  '',
  '# Heading <script>alert(1)</script>',
].join('\n')

/** Every text field a page editor controls, filled with attacks. */
function hostileSnapshot(): PageSnapshot {
  const s = makeSnapshot({
    page: makePage({
      name: `Acme ${EVIL}`,
      hasLogo: true,
      supportUrl: JS_URL,
      homepageUrl: `https://acme.test/${BREAKOUT}`,
      timeZone: 'Europe/Paris',
    }),
  })
  for (const component of s.components) {
    component.name = `${component.name} ${EVIL}`
    component.description = `Desc ${EVIL}`
    component.status = 'degraded_performance'
  }
  for (const event of [...s.incidents, ...s.maintenances]) {
    event.name = `${event.name} ${EVIL}`
    event.postmortemBody = MARKDOWN_EVIL
    event.postmortemPublishedAt = NOW
    for (const update of event.updates) {
      update.body = MARKDOWN_EVIL
      update.affectedComponents = [
        {
          code: 'compapi00001',
          name: `API ${EVIL}`,
          oldStatus: 'operational',
          newStatus: 'major_outage',
        },
      ]
    }
  }
  return s
}

function pages(s: PageSnapshot): [string, string][] {
  const ctx = ctxFor({ basePath: '/p/acme' })
  const result: [string, string][] = [
    ['status', renderStatusPage(s, ctx)],
    ['status fr', renderStatusPage(s, ctxFor({ locale: 'fr' }))],
    ['history', renderHistoryPage(s, ctx)],
    [
      'password',
      renderPasswordPage(s.page.name, { ...ctx, csrfToken: `tok${BREAKOUT}`, error: EVIL }),
    ],
  ]
  for (const event of [...s.incidents, ...s.maintenances])
    result.push([`incident ${event.id}`, renderIncidentPage(s, event.id, ctx)!])
  return result
}

describe('public pages against hostile content', () => {
  const s = hostileSnapshot()
  const rendered = pages(s)

  it('contain no script, no event handler, no javascript: URL', () => {
    for (const [name, html] of rendered) {
      expect(html, name).not.toMatch(/<script/i)
      expect(html, name).not.toMatch(/<iframe/i)
      expect(html, name).not.toMatch(/<style/i)
      expect(html, name).not.toMatch(/<img src=x/i)
      expect(html, name).not.toMatch(/<svg onload/i)
      expect(html, name).not.toMatch(/href="\s*javascript:/i)
      expect(html, name).not.toMatch(/src="\s*javascript:/i)
      // onerror= appears only as escaped text, never inside a tag.
      expect(html, name).not.toMatch(/<[a-z][^<>]*\sonerror=/i)
      expect(dangerousMarkup(html), name).toEqual([])
      expect(html, name).not.toContain('style=')
    }
  })

  it('escapes the hostile text instead of dropping it', () => {
    const [, status] = rendered[0]!
    expect(status).toContain('&lt;script>alert(1)&lt;/script>')
    expect(status).toContain('&quot;>&lt;img src=x onerror=alert(1)>')
    expect(status).toContain('<title>Acme &lt;script>alert(1)&lt;/script>')
    expect(status).toContain('alt="Acme &lt;script>alert(1)&lt;/script> &quot;>&lt;img')
    // The markdown renderer escapes raw HTML too.
    expect(status).toContain('&lt;img src=x onerror=alert(1)&gt;')
  })

  it('keeps only web links from markdown, all with rel="nofollow noopener noreferrer"', () => {
    for (const [name, html] of rendered) {
      const markdownLinks = tags(html).filter(
        (t) => t.name === 'a' && (t.attrs['href'] ?? '').startsWith('https://example.test/'),
      )
      if (name === 'password' || name === 'history') continue
      expect(markdownLinks.length, name).toBeGreaterThanOrEqual(2)
      for (const link of markdownLinks)
        expect(link.attrs['rel'], `${name}: ${link.attrs['href']!}`).toBe(
          'nofollow noopener noreferrer',
        )
      for (const link of tags(html).filter((t) => t.name === 'a')) {
        const href = link.attrs['href'] ?? ''
        expect(href, name).toMatch(/^(\/|#|https:\/\/)/)
      }
    }
  })

  it('drops the unsafe support link and keeps the homepage link escaped', () => {
    const [, status] = rendered[0]!
    expect(status).not.toContain('Get support')
    const homepage = tags(status).find(
      (t) => t.name === 'a' && t.attrs['href']?.startsWith('https://acme.test/'),
    )
    expect(homepage?.attrs['href']).toBe(`https://acme.test/${BREAKOUT}`)
    expect(homepage?.attrs['rel']).toBe('noopener noreferrer')
  })

  it('keeps markdown headings below the page headings', () => {
    for (const [name, html] of rendered)
      expect(
        tags(html).filter((t) => t.name === 'h1'),
        name,
      ).toHaveLength(1)
  })
})
