// The status page bench's reference: nginx from the distribution serving static files holding the
// same bytes as Candor's answers (the same compressed body for the same Accept-Encoding, and
// the same security headers), in its own temporary prefix, as a child process of the runner.
import { spawn, spawnSync } from 'node:child_process'
import { accessSync, chmodSync, constants, mkdirSync, mkdtempSync, renameSync } from 'node:fs'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { LOOPBACK } from './lib.js'

export const NGINX_INSTALL_HINT =
  'install it with `apt-get install nginx-light` (Debian, Ubuntu), or point BENCH_NGINX at an nginx binary'

/** Headers whose value is per response or set by nginx itself, so not copied into its config. */
const NOT_COPIED = new Set([
  'connection',
  'content-encoding',
  'content-length',
  'content-type',
  'date',
  'etag',
  'keep-alive',
  'transfer-encoding',
  'x-request-id',
])

/**
 * The nginx binary: BENCH_NGINX if set (and only it: BENCH_NGINX=none skips the bench), else
 * /usr/sbin/nginx or nginx on the PATH; undefined if none is executable.
 */
export function findNginx() {
  const forced = process.env.BENCH_NGINX
  const candidates =
    forced !== undefined && forced !== ''
      ? [forced]
      : [
          '/usr/sbin/nginx',
          ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'nginx')),
        ]
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not this one
    }
  }
  return undefined
}

/** nginx's version string, e.g. "nginx/1.22.1". */
export function nginxVersion(binary) {
  const run = spawnSync(binary, ['-v'], { encoding: 'utf8' })
  return (run.stderr || run.stdout).trim().replace(/^nginx version: /, '')
}

async function freePort() {
  const server = createServer()
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, LOOPBACK, resolve)
  })
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

function quote(value) {
  if (/["\\$\r\n]/.test(value)) return undefined
  return `"${value}"`
}

/**
 * `resources`: [{ name, contentType, headers }], served at /<name>. Candor's own choice of body
 * is mirrored: brotli when Accept-Encoding names br, else gzip when it names gzip (gzip_static),
 * else the identity body. write() puts the current bytes in place before a slice.
 */
export async function startNginx(binary, resources) {
  const prefix = mkdtempSync(join(tmpdir(), 'candor-status-nginx-'))
  const root = join(prefix, 'www')
  mkdirSync(root)
  mkdirSync(join(prefix, 'temp'))
  // Workers started by root run as nobody: they must be able to read the files.
  chmodSync(prefix, 0o755)
  chmodSync(root, 0o755)
  const port = await freePort()
  const temp = (name) => `${name}_temp_path ${join(prefix, 'temp', name)};`
  const locations = resources.map(({ name, contentType, headers }) => {
    const copied = Object.entries(headers)
      .filter(([header]) => !NOT_COPIED.has(header))
      .map(([header, value]) => [header, quote(String(value))])
      .filter(([, value]) => value !== undefined)
      .map(([header, value]) => `      add_header ${header} ${value};`)
    return [
      `    location = /${name} {`,
      `      types { }`,
      `      default_type ${quote(contentType)};`,
      `      try_files /${name}$candor_br_ext /${name} =404;`,
      `      add_header Content-Encoding $candor_br_encoding;`,
      `      add_header X-Request-Id $request_id;`,
      ...copied,
      `    }`,
    ].join('\n')
  })
  const conf = `daemon off;
worker_processes 2;
error_log stderr warn;
pid ${join(prefix, 'nginx.pid')};
events { worker_connections 1024; }
http {
  access_log off;
  ${temp('client_body')}
  ${temp('proxy')}
  ${temp('fastcgi')}
  ${temp('uwsgi')}
  ${temp('scgi')}
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  server_tokens off;
  gzip_static on;
  map $http_accept_encoding $candor_br_ext { "~\\bbr\\b" ".br"; default ""; }
  map $http_accept_encoding $candor_br_encoding { "~\\bbr\\b" "br"; default ""; }
  server {
    listen ${LOOPBACK}:${String(port)};
    root ${root};
${locations.join('\n')}
  }
}
`
  const confPath = join(prefix, 'nginx.conf')
  writeFileSync(confPath, conf)
  // -e (nginx >= 1.19.5) keeps nginx from opening its compiled-in error log before reading ours.
  const help = spawnSync(binary, ['-h'], { encoding: 'utf8' })
  const args = [
    '-p',
    prefix,
    '-c',
    confPath,
    ...(/-e filename/.test(help.stderr) ? ['-e', 'stderr'] : []),
  ]
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk) => {
    stderr += String(chunk)
  })
  let exited = false
  const exit = new Promise((resolve) => {
    child.once('exit', () => {
      exited = true
      resolve()
    })
  })
  // If the runner dies, nginx must not outlive it.
  const killOnExit = () => {
    if (!exited) child.kill('SIGKILL')
  }
  process.once('exit', killOnExit)

  const write = (name, bodies) => {
    for (const [suffix, bytes] of [
      ['', bodies.identity],
      ['.gz', bodies.gzip],
      ['.br', bodies.br],
    ]) {
      const path = join(root, name + suffix)
      writeFileSync(`${path}.tmp`, bytes, { mode: 0o644 })
      renameSync(`${path}.tmp`, path)
    }
  }

  async function stop() {
    process.removeListener('exit', killOnExit)
    if (!exited) {
      child.kill('SIGQUIT')
      await Promise.race([exit, delay(5000, undefined, { ref: false })])
      if (!exited) child.kill('SIGKILL')
      await exit
    }
    rmSync(prefix, { recursive: true, force: true })
  }

  /** CPU seconds used so far by the master and its workers (from /proc; 0 off Linux). */
  function cpuSeconds() {
    try {
      const pids = [
        child.pid,
        ...readFileSync(`/proc/${String(child.pid)}/task/${String(child.pid)}/children`, 'utf8')
          .trim()
          .split(/\s+/)
          .filter(Boolean)
          .map(Number),
      ]
      let ticks = 0
      for (const pid of pids) {
        const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8')
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
        ticks += Number(fields[11]) + Number(fields[12])
      }
      return ticks / 100
    } catch {
      return 0
    }
  }

  return {
    port,
    pid: child.pid,
    write,
    cpuSeconds,
    stop,
    /** Resolves once nginx answers on its port; rejects with its stderr if it exits first. */
    async ready(probe) {
      for (let attempt = 0; attempt < 100; attempt++) {
        if (exited) throw new Error(`nginx exited at start: ${stderr.trim()}`)
        try {
          await probe(port)
          return
        } catch {
          await delay(50)
        }
      }
      throw new Error(`nginx did not answer on ${LOOPBACK}:${String(port)}: ${stderr.trim()}`)
    },
  }
}
