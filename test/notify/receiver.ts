import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ReceivedRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
  body: string
  remotePort: number
}

export type ReceiverHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  received: ReceivedRequest,
) => void

export interface Receiver {
  /** http://host:port (IPv6 hosts in brackets), without a trailing slash. */
  origin: string
  port: number
  requests: ReceivedRequest[]
  close(): Promise<void>
}

const answerOk: ReceiverHandler = (_request, response) => {
  response.writeHead(200, { 'content-type': 'text/plain' })
  response.end('ok')
}

/** A real HTTP server on a random port of a loopback address, keeping every request it reads. */
export async function startReceiver(
  handler: ReceiverHandler = answerOk,
  host = '127.0.0.1',
): Promise<Receiver> {
  const requests: ReceivedRequest[] = []
  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const received: ReceivedRequest = {
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        remotePort: request.socket.remotePort ?? 0,
      }
      requests.push(received)
      handler(request, response, received)
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, host, resolve)
  })
  const { port } = server.address() as AddressInfo
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${String(port)}`
  return {
    origin,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const receiver = await startReceiver()
  await receiver.close()
  return receiver.port
}
