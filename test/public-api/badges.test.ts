import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PageSnapshot } from '../../src/domain/pages/types.js'
import { badgeSvg, componentBadge, pageBadge, textWidth } from '../../src/http/public/badges.js'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { testDialects } from '../helpers/test-db.js'
import { AMP_COMPONENT, buildScenario, XSS_COMPONENT, type Scenario } from './scenario.js'
import { parseXml, textOf, xmlProblems, type TextNode } from './xml.js'

interface SvgText {
  '#text'?: string
  '@aria-hidden'?: string
  '@x': string
  '@textLength': string
}
interface SvgDocument {
  svg: {
    '@xmlns': string
    '@width': string
    '@height': string
    '@role': string
    '@aria-label': string
    title: TextNode
    g: [{ rect: { '@width': string; '@x'?: string; '@fill': string }[] }, { text: SvgText[] }]
  }
}

function parseBadge(svg: string): SvgDocument['svg'] {
  expect(xmlProblems(svg)).toEqual([])
  return parseXml<SvgDocument>(svg).svg
}

describe('badgeSvg', () => {
  it('is an accessible SVG whose width follows its text', () => {
    const svg = parseBadge(badgeSvg('status', { text: 'All Systems Operational', colour: 'green' }))
    expect(svg['@xmlns']).toBe('http://www.w3.org/2000/svg')
    expect(svg['@role']).toBe('img')
    expect(svg['@aria-label']).toBe('status: All Systems Operational')
    expect(textOf(svg.title)).toBe('status: All Systems Operational')
    expect(svg['@height']).toBe('20')
    const [background, texts] = svg.g
    const [left, right] = background.rect
    expect(Number(left?.['@width']) + Number(right?.['@width'])).toBe(Number(svg['@width']))
    expect(right?.['@x']).toBe(left?.['@width'])
    expect(right?.['@fill']).toBe('#4c1')
    expect(texts.text.map((t) => t['#text'])).toEqual([
      'status',
      'status',
      'All Systems Operational',
      'All Systems Operational',
    ])
    expect(Number(left?.['@width'])).toBe(Math.round(textWidth('status') + 10))

    const short = parseBadge(badgeSvg('api', { text: 'ok', colour: 'red' }))
    const long = parseBadge(badgeSvg('api', { text: 'partial outage', colour: 'red' }))
    expect(Number(long['@width'])).toBeGreaterThan(Number(short['@width']))
    expect(textWidth('WWWW')).toBeGreaterThan(textWidth('iiii'))
  })

  it('escapes everything it is given', () => {
    const raw = badgeSvg('<script>alert(1)</script> & "x"', {
      text: `it's <b>&amp;</b>`,
      colour: 'yellow',
    })
    expect(raw).not.toMatch(/<script|<b>/)
    expect(raw).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;')
    expect(raw).toContain('&amp;amp;')
    const svg = parseBadge(raw)
    expect(textOf(svg.title)).toBe(`<script>alert(1)</script> & "x": it's <b>&amp;</b>`)
    expect(svg['@aria-label']).toBe(`<script>alert(1)</script> & "x": it's <b>&amp;</b>`)
  })

  it('keeps to one line of reasonable length, in valid XML', () => {
    const svg = parseBadge(
      badgeSvg('a\u0000b\nc', { text: `${'é'.repeat(200)}😀`, colour: 'grey' }),
    )
    expect(svg['@aria-label'].startsWith('ab c: ')).toBe(true)
    expect(Array.from(svg['@aria-label']).length).toBeLessThan(100)
    expect(svg['@aria-label'].endsWith('…')).toBe(true)
  })

  it('has a colour for each status', () => {
    const fills = (['green', 'yellow', 'orange', 'red', 'blue', 'grey'] as const).map(
      (colour) => parseBadge(badgeSvg('x', { text: 'y', colour })).g[0].rect[1]?.['@fill'],
    )
    expect(new Set(fills).size).toBe(6)
  })
})

describe.each(testDialects)('page and component badges (%s)', (dialect) => {
  let t: TestApp
  let s: Scenario

  beforeAll(async () => {
    t = await buildTestApp(dialect)
    s = await buildScenario(t)
  })
  afterAll(async () => {
    await t.close()
  })

  it('shows the page status', () => {
    const svg = parseBadge(pageBadge(s.snapshot))
    expect(svg['@aria-label']).toBe('status: Partial System Outage')
    expect(svg.g[0].rect[1]?.['@fill']).toBe('#fe7d37')
    const calm: PageSnapshot = {
      ...s.snapshot,
      status: { indicator: 'none', description: 'All Systems Operational' },
    }
    expect(parseBadge(pageBadge(calm))['@aria-label']).toBe('status: All Systems Operational')
    const maintenance: PageSnapshot = {
      ...s.snapshot,
      status: { indicator: 'maintenance', description: 'Service Under Maintenance' },
    }
    expect(parseBadge(pageBadge(maintenance)).g[0].rect[1]?.['@fill']).toBe('#007ec6')
  })

  it('shows a component’s status, its name escaped', () => {
    const xss = componentBadge(s.snapshot, s.xssComponent.id)
    expect(xss).toBeDefined()
    expect(xss).not.toMatch(/<script/)
    const svg = parseBadge(xss ?? '')
    expect(svg['@aria-label']).toBe(`${XSS_COMPONENT}: operational`)
    expect(svg.g[0].rect[1]?.['@fill']).toBe('#4c1')

    const amp = componentBadge(s.snapshot, s.ampComponent.id) ?? ''
    expect(amp).toContain('Billing &amp; Invoices')
    expect(parseBadge(amp)['@aria-label']).toBe(`${AMP_COMPONENT}: under maintenance`)

    const eu = parseBadge(componentBadge(s.snapshot, s.f.components.eu.id) ?? '')
    expect(eu['@aria-label']).toBe('EU: degraded performance')
    // A group shows the worst of its components.
    const regions = parseBadge(componentBadge(s.snapshot, s.f.groups.regions.id) ?? '')
    expect(regions['@aria-label']).toBe('Regions: degraded performance')
    expect(regions.g[0].rect[1]?.['@fill']).toBe('#dfb317')
  })

  it('has no badge for a component of another page or none at all', () => {
    expect(componentBadge(s.snapshot, 'nosuchcompo1')).toBeUndefined()
    expect(componentBadge(s.snapshot, '')).toBeUndefined()
  })

  it('writes partial and major outages in words', () => {
    const withStatus = (status: 'partial_outage' | 'major_outage'): PageSnapshot => ({
      ...s.snapshot,
      components: s.snapshot.components.map((c) =>
        c.id === s.f.components.api.id ? { ...c, status } : c,
      ),
    })
    const partial = parseBadge(
      componentBadge(withStatus('partial_outage'), s.f.components.api.id) ?? '',
    )
    expect(partial['@aria-label']).toBe('API: partial outage')
    expect(partial.g[0].rect[1]?.['@fill']).toBe('#fe7d37')
    const major = parseBadge(
      componentBadge(withStatus('major_outage'), s.f.components.api.id) ?? '',
    )
    expect(major['@aria-label']).toBe('API: major outage')
    expect(major.g[0].rect[1]?.['@fill']).toBe('#e05d44')
  })
})
