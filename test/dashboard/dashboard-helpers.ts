import { deflateSync, crc32 } from 'node:zlib'
import { expect } from 'vitest'
import type { TestApp } from '../helpers/build-app.js'
import { signIn, TestBrowser, type BrowserResponse } from '../helpers/browser.js'

/** A browser signed in as the given login, with a CSRF token from the dashboard it landed on. */
export async function browserFor(
  t: TestApp,
  login: { email: string; password: string },
): Promise<TestBrowser> {
  const browser = new TestBrowser(t.app)
  const response = await signIn(browser, login.email, login.password)
  expect(response.status).toBe(303)
  await browser.get('/dashboard')
  return browser
}

/**
 * Posts a form the way a browser does, repeated names included (a checkbox after its hidden
 * "false" twin), with the last CSRF token the browser saw.
 */
export async function postForm(
  browser: TestBrowser,
  url: string,
  fields: [string, string][] | Record<string, string>,
): Promise<BrowserResponse> {
  const form = new URLSearchParams(Array.isArray(fields) ? fields : Object.entries(fields))
  if (!form.has('_csrf') && browser.csrfToken !== undefined) form.set('_csrf', browser.csrfToken)
  return browser.request('POST', url, form.toString())
}

export interface FilePart {
  name: string
  filename: string
  contentType: string
  data: Buffer
}

/** A multipart/form-data body written by hand, as a browser sends a file input. */
export function multipartBody(
  files: FilePart[],
  fields: Record<string, string> = {},
): { payload: Buffer; contentType: string } {
  const boundary = `----candor-test-${String(Date.now())}`
  const chunks: Buffer[] = []
  for (const [name, value] of Object.entries(fields)) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
      ),
    )
  }
  for (const file of files) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${file.name}"; filename="${file.filename}"\r\n` +
          `Content-Type: ${file.contentType}\r\n\r\n`,
      ),
      file.data,
      Buffer.from('\r\n'),
    )
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return {
    payload: Buffer.concat(chunks),
    contentType: `multipart/form-data; boundary=${boundary}`,
  }
}

/** Sends a multipart body with the browser's cookies (TestBrowser only sends text bodies). */
export async function postMultipart(
  t: TestApp,
  browser: TestBrowser,
  url: string,
  files: FilePart[],
): Promise<{ status: number; body: string; location: string | undefined }> {
  const { payload, contentType } = multipartBody(files)
  const response = await t.app.inject({
    method: 'POST',
    url,
    remoteAddress: '127.0.0.1',
    headers: {
      accept: 'text/html',
      'content-type': contentType,
      cookie: [...browser.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
    },
    payload,
  })
  const location = response.headers.location
  return {
    status: response.statusCode,
    body: response.body,
    location: typeof location === 'string' ? location : undefined,
  }
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(data.length)
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(typed))
  return Buffer.concat([length, typed, crc])
}

/** A valid 1×1 RGBA PNG, built byte by byte. */
export function tinyPng(): Buffer {
  const header = Buffer.alloc(13)
  header.writeUInt32BE(1, 0) // width
  header.writeUInt32BE(1, 4) // height
  header.writeUInt8(8, 8) // bit depth
  header.writeUInt8(6, 9) // colour type RGBA
  header.writeUInt8(0, 10) // compression
  header.writeUInt8(0, 11) // filter
  header.writeUInt8(0, 12) // interlace
  const scanline = Buffer.from([0, 0x0a, 0x5b, 0xd3, 0xff]) // filter byte + one pixel
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(scanline)),
    pngChunk('IEND', Buffer.alloc(0)),
  ])
}

/** The action of the logo upload form, CSRF token included, as the settings page renders it. */
export function logoFormAction(html: string): string {
  const match = /<form method="post" action="([^"]*\/logo\?_csrf=[^"]*)"/.exec(html)
  expect(match).not.toBeNull()
  return (match?.[1] ?? '').replace(/&amp;/g, '&')
}

/** Forms that change something: every POST form except signing out. */
export function editForms(html: string): string[] {
  return [...html.matchAll(/<form[^>]*method="post"[^>]*action="([^"]*)"/g)]
    .map((m) => m[1] ?? '')
    .filter((action) => action !== '/logout')
}

export function idFromLocation(location: string | undefined, prefix: string): string {
  expect(location).toBeDefined()
  const match = new RegExp(`^${prefix}/([^/?]+)`).exec(location ?? '')
  expect(match).not.toBeNull()
  return decodeURIComponent(match?.[1] ?? '')
}
