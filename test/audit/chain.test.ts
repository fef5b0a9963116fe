import { sql } from 'kysely'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { runCli } from '../../src/cli/index.js'
import { createDatabase } from '../../src/db/database.js'
import { entryHash } from '../../src/domain/audit/audit-chain.js'
import { createAuditLog } from '../../src/domain/audit/audit-log.js'
import { hashedFieldsOf } from '../../src/domain/audit/audit-verify.js'
import { systemClock } from '../../src/domain/clock.js'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { createFakeIo } from '../helpers/cli-io.js'
import { createOwner } from '../helpers/factories.js'
import { createInstallation, type Installation } from '../helpers/installation.js'
import { actorFor, createPageFixture } from '../helpers/page-factories.js'
import { testDialects } from '../helpers/test-db.js'
import { entriesOf, tamper, verifyAccount } from './audit-helpers.js'

describe.each(testDialects)('audit log: the hash chain (%s)', (dialect) => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp(dialect)
  })
  afterAll(async () => {
    await t.close()
  })

  /** An account whose chain has a handful of entries. */
  async function accountWithEntries() {
    const f = await createPageFixture(t)
    await t.runtime.services.incidents.create(f.actor, f.page.id, { name: 'Down', body: 'x' })
    const entries = await entriesOf(t, f.owner.accountId)
    expect(entries.length).toBeGreaterThan(5)
    expect((await verifyAccount(t, f.owner.accountId)).broken).toBeNull()
    return { accountId: f.owner.accountId, entries, chain: `account:${f.owner.accountId}` }
  }

  it('links each entry to the one before: seq 1, 2, 3… and prev_hash = previous hash', async () => {
    const { entries } = await accountWithEntries()
    entries.forEach((entry, index) => {
      expect(entry.seq).toBe(index + 1)
      expect(entry.prev_hash).toBe(index === 0 ? '0'.repeat(64) : entries[index - 1]?.hash)
      expect(entry.hash).toBe(entryHash(entry.prev_hash, hashedFieldsOf(entry)))
    })
  })

  it('refuses UPDATE and DELETE of entries, and moving a chain head back, in the database itself', async () => {
    const { entries, chain } = await accountWithEntries()
    const db = t.runtime.database.db
    const first = entries[0]?.id ?? ''
    await expect(
      db.updateTable('audit_entries').set({ action: 'x.y' }).where('id', '=', first).execute(),
    ).rejects.toThrow(/append-only/)
    await expect(db.deleteFrom('audit_entries').where('id', '=', first).execute()).rejects.toThrow(
      /append-only/,
    )
    await expect(
      db.updateTable('audit_chain_heads').set({ seq: 1 }).where('chain', '=', chain).execute(),
    ).rejects.toThrow(/only move forward/)
    await expect(
      db.deleteFrom('audit_chain_heads').where('chain', '=', chain).execute(),
    ).rejects.toThrow(/only move forward/)
    if (dialect === 'postgres')
      await expect(sql`TRUNCATE audit_entries`.execute(db)).rejects.toThrow(/append-only/)
    expect(await entriesOf(t, entries[0]?.account_id ?? '')).toEqual(entries)
  })

  it('detects an edited entry', async () => {
    const { accountId, entries } = await accountWithEntries()
    const victim = entries[2]
    await tamper(t, async (db) => {
      await db
        .updateTable('audit_entries')
        .set({ ip: '203.0.113.66' })
        .where('id', '=', victim?.id ?? '')
        .execute()
    })
    expect((await verifyAccount(t, accountId)).broken).toEqual({
      seq: 3,
      id: victim?.id,
      reason: expect.stringMatching(/hash does not match/) as unknown,
    })
  })

  it('detects a deleted entry', async () => {
    const { accountId, entries } = await accountWithEntries()
    await tamper(t, async (db) => {
      await db
        .deleteFrom('audit_entries')
        .where('id', '=', entries[1]?.id ?? '')
        .execute()
    })
    const { broken } = await verifyAccount(t, accountId)
    expect(broken).toMatchObject({ seq: 3, id: entries[2]?.id })
    expect(broken?.reason).toMatch(/seq 3 where 2 was expected/)
  })

  it('detects a deleted last entry (the head still names it)', async () => {
    const { accountId, entries } = await accountWithEntries()
    await tamper(t, async (db) => {
      await db
        .deleteFrom('audit_entries')
        .where('id', '=', entries.at(-1)?.id ?? '')
        .execute()
    })
    const { broken } = await verifyAccount(t, accountId)
    expect(broken).toMatchObject({ seq: null })
    expect(broken?.reason).toMatch(/head names entry/)
  })

  it('detects reordered entries', async () => {
    const { accountId, entries, chain } = await accountWithEntries()
    await tamper(t, async (db) => {
      const move = (from: number, to: number) =>
        db
          .updateTable('audit_entries')
          .set({ seq: to })
          .where('chain', '=', chain)
          .where('seq', '=', from)
          .execute()
      await move(2, -1)
      await move(3, 2)
      await move(-1, 3)
    })
    const { broken } = await verifyAccount(t, accountId)
    expect(broken).toMatchObject({ seq: 2, id: entries[2]?.id })
  })

  it('detects an inserted entry, even one with a correctly computed hash', async () => {
    const { accountId, entries, chain } = await accountWithEntries()
    const before = entries[0]
    if (before === undefined) throw new Error('no entries')
    await tamper(t, async (db) => {
      // Make room at seq 2, from the end so the unique (chain, seq) index never sees a duplicate.
      for (const entry of [...entries].reverse().filter((e) => e.seq >= 2))
        await db
          .updateTable('audit_entries')
          .set({ seq: entry.seq + 1 })
          .where('id', '=', entry.id)
          .execute()
      const forged = {
        ...before,
        id: 'forged000000',
        seq: 2,
        action: 'page.deleted',
        prev_hash: before.hash,
      }
      forged.hash = entryHash(forged.prev_hash, hashedFieldsOf(forged))
      await db
        .insertInto('audit_entries')
        .values({ ...forged, created_at: new Date(forged.created_at) })
        .execute()
      await db
        .updateTable('audit_chain_heads')
        .set((eb) => ({ seq: eb('seq', '+', 1) }))
        .where('chain', '=', chain)
        .execute()
    })
    const { broken } = await verifyAccount(t, accountId)
    expect(broken).toMatchObject({ seq: 3, id: entries[1]?.id })
    expect(broken?.reason).toMatch(/prev_hash/)
  })

  it('detects an entry appended behind the head', async () => {
    const { accountId, entries } = await accountWithEntries()
    const last = entries.at(-1)
    if (last === undefined) throw new Error('no entries')
    await tamper(t, async (db) => {
      const forged = { ...last, id: 'appended0000', seq: last.seq + 1, prev_hash: last.hash }
      forged.hash = entryHash(forged.prev_hash, hashedFieldsOf(forged))
      await db
        .insertInto('audit_entries')
        .values({ ...forged, created_at: new Date(forged.created_at) })
        .execute()
    })
    expect((await verifyAccount(t, accountId)).broken?.reason).toMatch(/head names entry/)
  })

  it('keeps one valid chain when 20 incidents are created at once', async () => {
    const f = await createPageFixture(t)
    const before = (await entriesOf(t, f.owner.accountId)).length
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.runtime.services.incidents.create(f.actor, f.page.id, {
          name: `Incident ${String(i)}`,
          body: 'At the same time.',
        }),
      ),
    )
    const entries = await entriesOf(t, f.owner.accountId)
    expect(entries).toHaveLength(before + 20)
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1))
    expect(entries.filter((e) => e.action === 'incident.created')).toHaveLength(20)
    const report = await verifyAccount(t, f.owner.accountId)
    expect(report).toMatchObject({ broken: null, entries: before + 20 })
    expect(report.headHash).toBe(entries.at(-1)?.hash)
  })

  it('leaves no entry behind when the change it belongs to rolls back', async () => {
    const owner = await createOwner(t)
    const db = t.runtime.database.db
    await expect(
      db.transaction().execute(async (trx) => {
        await t.runtime.services.audit.record(trx, {
          accountId: owner.accountId,
          actor: { type: 'user', userId: owner.userId },
          action: 'test.rolled_back',
        })
        throw new Error('the change failed')
      }),
    ).rejects.toThrow('the change failed')
    const entries = await entriesOf(t, owner.accountId)
    expect(entries.map((e) => e.action)).toEqual(['account.created'])
    // The next entry takes seq 2: the rolled-back one left no gap.
    await t.runtime.services.accounts.rename(actorFor(owner.userId), owner.accountId, {
      name: 'After',
    })
    expect((await entriesOf(t, owner.accountId)).map((e) => e.seq)).toEqual([1, 2])
    expect((await verifyAccount(t, owner.accountId)).broken).toBeNull()
  })
})

describe.each(testDialects)('candor audit verify (%s)', (dialect) => {
  let install: Installation
  let t: TestApp | undefined
  beforeEach(async () => {
    install = await createInstallation(dialect)
  })
  afterEach(async () => {
    await t?.close()
    t = undefined
    await install.remove()
  })

  async function cli(...argv: string[]) {
    const io = createFakeIo(install.env)
    const code = await runCli(argv, io)
    return { code, out: io.out(), err: io.err() }
  }

  it('prints each chain with its entries and head hash and exits 0, then 1 after tampering', async () => {
    t = await buildTestApp(dialect, { reuse: install.reuse })
    const f = await createPageFixture(t)
    const other = await createOwner(t)
    const entries = await entriesOf(t, f.owner.accountId)

    const ok = await cli('audit', 'verify')
    expect(ok.code).toBe(0)
    expect(ok.err).toBe('')
    expect(ok.out).toContain(
      `ok      account:${f.owner.accountId}  ${String(entries.length)} entries  head ${entries.at(-1)?.hash ?? ''}\n`,
    )
    expect(ok.out).toContain(`ok      account:${other.accountId}  1 entries`)
    expect(ok.out).toMatch(/All \d+ chain\(s\) verify/)

    const one = await cli('audit', 'verify', '--account', other.accountId)
    expect(one.code).toBe(0)
    expect(one.out).not.toContain(f.owner.accountId)
    expect(one.out).toContain(`account:${other.accountId}`)

    const victim = entries[3]
    await tamper(t, async (db) => {
      await db
        .updateTable('audit_entries')
        .set({ details: '{}' })
        .where('id', '=', victim?.id ?? '')
        .execute()
    })
    const broken = await cli('audit', 'verify')
    expect(broken.code).toBe(1)
    expect(broken.out).toContain(
      `BROKEN  account:${f.owner.accountId}  at seq 4 (entry ${victim?.id ?? ''}): hash does not match`,
    )
    expect(broken.out).toContain(`ok      account:${other.accountId}`)
    expect(broken.err).toContain('1 chain(s) do not verify')
    expect((await cli('audit', 'verify', '--account', other.accountId)).code).toBe(0)
    expect((await cli('audit', 'verify', '--account', f.owner.accountId)).code).toBe(1)
  })

  it('answers for an empty log, and refuses a bad subcommand or option with 2', async () => {
    expect(await cli('migrate', 'up')).toMatchObject({ code: 0 })
    expect(await cli('audit', 'verify')).toEqual({
      code: 0,
      out: 'The audit log is empty.\n',
      err: '',
    })
    expect(await cli('audit', 'verify', '--account', 'nope')).toMatchObject({
      code: 0,
      out: 'No audit entries for account nope.\n',
    })
    expect((await cli('audit', 'list')).code).toBe(2)
    expect((await cli('audit', 'verify', '--all')).code).toBe(2)
    const help = await cli('help')
    expect(help.out).toContain('audit verify [--account ID]')
  })
})

// Two connection pools stand for two processes; the embedded database has one process.
describe.each(testDialects.filter((dialect) => dialect === 'postgres'))(
  'audit log: appends from several processes (%s)',
  (dialect) => {
    let t: TestApp
    beforeAll(async () => {
      t = await buildTestApp(dialect)
    })
    afterAll(async () => {
      await t.close()
    })

    it('keeps one valid chain when two connection pools (two processes) append at once', async () => {
      const owner = await createOwner(t)
      const second = createDatabase({
        databaseUrl: t.config.databaseUrl,
        dataDir: t.dataDir,
        masterKey: Buffer.alloc(32),
      })
      try {
        const logs = [
          t.runtime.services.audit,
          createAuditLog({ db: second.db, clock: systemClock }),
        ]
        const dbs = [t.runtime.database.db, second.db]
        await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            dbs[i % 2]!.transaction().execute(async (trx) => {
              // Some work before the append holds the transaction open, as real changes do.
              await trx.selectFrom('accounts').select('id').execute()
              await logs[i % 2]!.record(trx, {
                accountId: owner.accountId,
                actor: { type: 'system' },
                action: 'test.appended',
                details: { i },
              })
            }),
          ),
        )
      } finally {
        await second.close()
      }
      const entries = await entriesOf(t, owner.accountId)
      expect(entries).toHaveLength(41)
      expect((await verifyAccount(t, owner.accountId)).broken).toBeNull()
    })
  },
)
