#!/usr/bin/env -S node --max-semi-space-size=8
const major = Number(process.versions.node.split('.')[0])
if (major < 24) {
  // The embedded database driver ships a binary built for Node 24; older versions crash in it.
  process.stderr.write(
    `Candor needs Node.js 24 or newer; this is Node.js ${process.versions.node}.\n`,
  )
  process.exit(1)
}
const { runCli } = await import('../dist/cli/index.js')
process.exitCode = await runCli(process.argv.slice(2))
