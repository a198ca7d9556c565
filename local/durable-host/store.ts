/**
 * Durable state in SQLite (better-sqlite3, WAL). Everything the engine holds in memory is written
 * through here in one transaction per step, so a SIGKILL loses at most the step in progress.
 */
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** DTFx's Azure Storage tracking store: a table property over 60 KB of UTF-16 goes to a blob. */
export const LARGE_INPUT_UTF16_BYTES = 60 * 1024;

/**
 * Rows a status query examines per request at most: an Azure Table query segment returns after
 * 1,000 entities (or 5 s) with a continuation token, even when fewer matched the filter, and the
 * extension answers one segment per request (DTFx.AzureStorage AzureTableTrackingStore.cs
 * GetStateAsync, one page of the pageable). A page can therefore hold fewer than `top` instances
 * and still carry a token; no request scans the whole task hub.
 */
export const STATUS_QUERY_SCAN_LIMIT = 1000;

export interface InstanceQuery {
  createdFrom?: number;
  createdTo?: number;
  statuses?: string[];
  prefix?: string;
  /** Continue after this instance id (the continuation token). */
  after?: string;
  pageSize: number;
  scanLimit?: number;
}

/** One worker's claim on a partition (or an activity message): DTFx.AzureStorage partition leases and queue visibility. */
export interface LeaseRow {
  partition: number;
  owner: string | null;
  expires_at: number;
}

/**
 * The partition of an instance id: FNV-1a over its UTF-8 bytes, modulo the partition count, as
 * DTFx.AzureStorage assigns an instance to a control queue (AzureStorageOrchestrationService.cs: Fnv1aHashHelper.ComputeHash(instanceId) % PartitionCount, UTF-8).
 */
export function partitionOf(instanceId: string, partitionCount: number): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(instanceId, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitionCount;
}

export interface HistoryRow {
  instanceId: string;
  execution: number;
  event: Record<string, unknown>;
}

export class Store {
  readonly db: Database.Database;
  private readonly stmts;

  /** Partitions of the task hub: the first store to open it fixes the count (kept in meta). */
  readonly partitionCount: number;

  constructor(stateDir: string, options: { partitionCount?: number } = {}) {
    let file = ':memory:';
    if (stateDir !== ':memory:') {
      fs.mkdirSync(stateDir, { recursive: true });
      file = path.join(stateDir, 'durable.sqlite');
    }
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    // Several workers may share the file: wait for another writer's transaction instead of failing.
    this.db.pragma('busy_timeout = 10000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS instances (id TEXT PRIMARY KEY, data TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS history (instance_id TEXT NOT NULL, execution INTEGER NOT NULL, seq INTEGER NOT NULL,
        event TEXT NOT NULL, PRIMARY KEY (instance_id, execution, seq));
      CREATE TABLE IF NOT EXISTS inbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, instance_id TEXT NOT NULL, msg TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS work (id INTEGER PRIMARY KEY AUTOINCREMENT, instance_id TEXT NOT NULL, data TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS large_inputs (instance_id TEXT PRIMARY KEY, input TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS partition_leases (partition INTEGER PRIMARY KEY, owner TEXT, expires_at INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE IF NOT EXISTS workers (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
    `);
    this.migrate();
    this.stmts = {
      putInstance: this.db.prepare('INSERT OR REPLACE INTO instances (id, data, name, status, created_time, partition) VALUES (?, ?, ?, ?, ?, ?)'),
      getInstance: this.db.prepare('SELECT data FROM instances WHERE id = ?'),
      instancesOfPartition: this.db.prepare('SELECT id, data FROM instances WHERE partition = ?'),
      inboxOfPartition: this.db.prepare('SELECT seq, instance_id, msg FROM inbox WHERE partition = ? ORDER BY seq'),
      inboxAfter: this.db.prepare('SELECT seq, instance_id, msg, partition FROM inbox WHERE seq > ? ORDER BY seq'),
      timersOfPartition: this.db.prepare("SELECT id, instance_id, data FROM work WHERE partition = ? AND kind = 'timer' ORDER BY id"),
      deleteInstance: this.db.prepare('DELETE FROM instances WHERE id = ?'),
      allInstances: this.db.prepare('SELECT id, data FROM instances'),
      addHistory: this.db.prepare('INSERT INTO history (instance_id, execution, seq, event) VALUES (?, ?, ?, ?)'),
      history: this.db.prepare('SELECT execution, event FROM history WHERE instance_id = ? ORDER BY execution, seq'),
      deleteHistory: this.db.prepare('DELETE FROM history WHERE instance_id = ?'),
      addInbox: this.db.prepare('INSERT INTO inbox (instance_id, msg, partition) VALUES (?, ?, ?)'),
      deleteInbox: this.db.prepare('DELETE FROM inbox WHERE seq = ?'),
      deleteInboxOf: this.db.prepare('DELETE FROM inbox WHERE instance_id = ?'),
      allInbox: this.db.prepare('SELECT seq, instance_id, msg FROM inbox ORDER BY seq'),
      addWork: this.db.prepare('INSERT INTO work (instance_id, data, kind, partition) VALUES (?, ?, ?, ?)'),
      claimableActivities: this.db.prepare("SELECT id, instance_id, data FROM work WHERE kind = 'activity' AND (lease_expires IS NULL OR lease_expires <= ?) ORDER BY id LIMIT ?"),
      leaseWork: this.db.prepare('UPDATE work SET lease_owner = ?, lease_expires = ? WHERE id = ?'),
      renewWork: this.db.prepare('UPDATE work SET lease_expires = ? WHERE id = ? AND lease_owner = ?'),
      deleteLeasedWork: this.db.prepare('DELETE FROM work WHERE id = ? AND lease_owner = ?'),
      deleteWork: this.db.prepare('DELETE FROM work WHERE id = ?'),
      deleteWorkOf: this.db.prepare('DELETE FROM work WHERE instance_id = ?'),
      allWork: this.db.prepare('SELECT id, instance_id, data FROM work ORDER BY id'),
      putLargeInput: this.db.prepare('INSERT OR REPLACE INTO large_inputs (instance_id, input) VALUES (?, ?)'),
      deleteLargeInput: this.db.prepare('DELETE FROM large_inputs WHERE instance_id = ?'),
      largeInput: this.db.prepare('SELECT input FROM large_inputs WHERE instance_id = ?'),
      getMeta: this.db.prepare('SELECT value FROM meta WHERE name = ?'),
      putMeta: this.db.prepare('INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)'),
    };
    // Azure Storage's default partitionCount is 4 (AzureStorageOrchestrationServiceSettings.cs).
    this.partitionCount = Number(this.meta('partitionCount', () => String(options.partitionCount ?? 4)));
    const insertPartition = this.db.prepare('INSERT OR IGNORE INTO partition_leases (partition, owner, expires_at) VALUES (?, NULL, 0)');
    for (let p = 0; p < this.partitionCount; p++) insertPartition.run(p);
    this.fillPartitions();
  }

  /** Adds the query columns to a store written before they existed, filled from each row's data. */
  private migrate(): void {
    const columns = (table: string): string[] => (this.db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
    const instanceColumns = columns('instances');
    if (!instanceColumns.includes('status')) {
      this.db.exec('ALTER TABLE instances ADD COLUMN name TEXT; ALTER TABLE instances ADD COLUMN status TEXT; ALTER TABLE instances ADD COLUMN created_time INTEGER; ALTER TABLE instances ADD COLUMN partition INTEGER');
      const update = this.db.prepare('UPDATE instances SET name = ?, status = ?, created_time = ? WHERE id = ?');
      for (const row of this.db.prepare('SELECT id, data FROM instances').all() as { id: string; data: string }[]) {
        const data = JSON.parse(row.data) as { name?: string; status?: string; createdTime?: number };
        update.run(data.name ?? '', data.status ?? '', data.createdTime ?? 0, row.id);
      }
    }
    if (!columns('inbox').includes('partition')) this.db.exec('ALTER TABLE inbox ADD COLUMN partition INTEGER');
    if (!columns('work').includes('kind')) {
      this.db.exec('ALTER TABLE work ADD COLUMN kind TEXT; ALTER TABLE work ADD COLUMN partition INTEGER; ALTER TABLE work ADD COLUMN lease_owner TEXT; ALTER TABLE work ADD COLUMN lease_expires INTEGER');
      this.db.exec(`UPDATE work SET kind = json_extract(data, '$.kind')`);
    }
    this.db.exec(`
      CREATE INDEX IF NOT EXISTS instances_by_partition ON instances (partition);
      CREATE INDEX IF NOT EXISTS inbox_by_partition ON inbox (partition, seq);
      CREATE INDEX IF NOT EXISTS work_by_partition ON work (partition, kind);
      CREATE INDEX IF NOT EXISTS work_by_kind ON work (kind, lease_expires);
    `);
  }

  /** Rows written before partitions existed get theirs. */
  fillPartitions(): void {
    const count = this.partitionCount;
    for (const table of ['instances', 'inbox', 'work']) {
      const idColumn = table === 'instances' ? 'id' : 'instance_id';
      const key = table === 'inbox' ? 'seq' : 'id';
      const rows = this.db.prepare(`SELECT ${key} AS k, ${idColumn} AS instance FROM ${table} WHERE partition IS NULL`).all() as { k: string | number; instance: string }[];
      const update = this.db.prepare(`UPDATE ${table} SET partition = ? WHERE ${key} = ?`);
      for (const row of rows) update.run(partitionOf(row.instance, count), row.k);
    }
  }

  /** A value kept with the state (the host's generated system key survives a restart, as in Azure). */
  meta(name: string, create: () => string): string {
    const row = this.stmts.getMeta.get(name) as { value: string } | undefined;
    if (row) return row.value;
    const value = create();
    this.stmts.putMeta.run(name, value);
    return value;
  }

  /**
   * One transaction, taking the write lock at its start (BEGIN IMMEDIATE): with several workers on
   * the file, what a transaction reads before it writes cannot change under it. Nested calls are savepoints.
   */
  tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /**
   * An input over 60 KB of UTF-16 is kept in its own table, as Azure Storage's tracking store
   * moves such a property to a blob (DurableTask.AzureStorage AzureTableTrackingStore.cs); status
   * reads fetch it from there (largeInput).
   */
  putInstance(id: string, data: { input?: unknown; name?: string; status?: string; createdTime?: number }): void {
    const input = JSON.stringify(data.input ?? null);
    const columns = [data.name ?? '', data.status ?? '', data.createdTime ?? 0, partitionOf(id, this.partitionCount)] as const;
    if (input.length * 2 > LARGE_INPUT_UTF16_BYTES) {
      this.stmts.putLargeInput.run(id, input);
      this.stmts.putInstance.run(id, JSON.stringify({ ...data, input: undefined, inputStoredApart: true }), ...columns);
    } else {
      this.stmts.deleteLargeInput.run(id);
      this.stmts.putInstance.run(id, JSON.stringify(data), ...columns);
    }
  }

  private readInstance(id: string, text: string): Record<string, unknown> {
    const data = JSON.parse(text) as Record<string, unknown>;
    if (data.inputStoredApart) {
      delete data.inputStoredApart;
      data.input = this.largeInput(id);
    }
    return data;
  }

  /** One instance as committed (another worker's, say), or undefined. */
  getInstance(id: string): Record<string, unknown> | undefined {
    const row = this.stmts.getInstance.get(id) as { data: string } | undefined;
    return row ? this.readInstance(id, row.data) : undefined;
  }

  instancesOfPartition(partition: number): { id: string; data: Record<string, unknown> }[] {
    return (this.stmts.instancesOfPartition.all(partition) as { id: string; data: string }[]).map((row) => ({ id: row.id, data: this.readInstance(row.id, row.data) }));
  }

  inboxOfPartition(partition: number): { seq: number; instance_id: string; msg: string }[] {
    return this.stmts.inboxOfPartition.all(partition) as { seq: number; instance_id: string; msg: string }[];
  }

  /** Messages committed after `seq`, in commit order (one writer at a time: sequence numbers follow commits). */
  inboxAfter(seq: number): { seq: number; instance_id: string; msg: string; partition: number }[] {
    return this.stmts.inboxAfter.all(seq) as { seq: number; instance_id: string; msg: string; partition: number }[];
  }

  timersOfPartition(partition: number): { id: number; instance_id: string; data: string }[] {
    return this.stmts.timersOfPartition.all(partition) as { id: number; instance_id: string; data: string }[];
  }

  /**
   * One page of a status query in instance-id order (the instances table's key), examining at
   * most `scanLimit` rows: the prefix is a key range (DTFx turns InstanceIdPrefix into a
   * PartitionKey range), created time and status filter the rows examined
   * (OrchestrationInstanceStatusQueryCondition.cs GetODataFilter: CreatedTime ge/le, RuntimeStatus eq).
   * `next` is the id to continue after, when rows remain.
   */
  queryInstances(q: InstanceQuery): { rows: { id: string; data: Record<string, unknown> }[]; next?: string } {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.after !== undefined) {
      where.push('id > ?');
      args.push(q.after);
    }
    if (q.prefix) {
      where.push('id >= ?');
      args.push(q.prefix);
      const last = q.prefix.charCodeAt(q.prefix.length - 1);
      where.push('id < ?');
      args.push(q.prefix.slice(0, -1) + String.fromCharCode(last + 1));
    }
    const scanLimit = q.scanLimit ?? STATUS_QUERY_SCAN_LIMIT;
    // The scan reads the key and the filtered columns only, row by row, and stops once the page is
    // full (as a table query returns once it has `top` matches); the data of the matches comes after.
    const scan = this.db.prepare(`SELECT id, status, created_time FROM instances ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`);
    const matched: string[] = [];
    let examined = 0;
    let lastExamined: string | undefined;
    let more = false;
    for (const row of scan.iterate(...args, scanLimit + 1) as IterableIterator<{ id: string; status: string; created_time: number }>) {
      if (matched.length >= q.pageSize || examined >= scanLimit) {
        more = true;
        break;
      }
      examined++;
      lastExamined = row.id;
      if (q.createdFrom !== undefined && row.created_time < q.createdFrom) continue;
      if (q.createdTo !== undefined && row.created_time > q.createdTo) continue;
      if (q.statuses && q.statuses.length > 0 && !q.statuses.includes(row.status)) continue;
      matched.push(row.id);
    }
    const rows = matched.map((id) => ({ id, data: this.getInstance(id) ?? {} }));
    // More rows follow the last one examined (a full page, or the scan limit reached).
    return more && lastExamined !== undefined ? { rows, next: lastExamined } : { rows };
  }

  // ------------------------------------------------------------ leases (several workers on one store)

  /** Records that a worker is alive until `expiresAt`; returns how many workers are alive at `now`. */
  heartbeat(workerId: string, now: number, expiresAt: number): number {
    this.db.prepare('INSERT OR REPLACE INTO workers (id, expires_at) VALUES (?, ?)').run(workerId, expiresAt);
    this.db.prepare('DELETE FROM workers WHERE expires_at <= ?').run(now);
    return (this.db.prepare('SELECT COUNT(*) AS n FROM workers').get() as { n: number }).n;
  }

  removeWorker(workerId: string): void {
    this.db.prepare('DELETE FROM workers WHERE id = ?').run(workerId);
  }

  leases(): LeaseRow[] {
    return this.db.prepare('SELECT partition, owner, expires_at FROM partition_leases ORDER BY partition').all() as LeaseRow[];
  }

  /** Takes a partition that is free or whose lease expired; false when another worker holds it. */
  acquireLease(partition: number, owner: string, now: number, expiresAt: number): boolean {
    return this.db.prepare('UPDATE partition_leases SET owner = ?, expires_at = ? WHERE partition = ? AND (owner IS NULL OR owner = ? OR expires_at <= ?)').run(owner, expiresAt, partition, owner, now).changes === 1;
  }

  /** Extends a lease this worker still holds; false when it was lost. */
  renewLease(partition: number, owner: string, now: number, expiresAt: number): boolean {
    return this.db.prepare('UPDATE partition_leases SET expires_at = ? WHERE partition = ? AND owner = ? AND expires_at > ?').run(expiresAt, partition, owner, now).changes === 1;
  }

  releaseLease(partition: number, owner: string): void {
    this.db.prepare('UPDATE partition_leases SET owner = NULL, expires_at = 0 WHERE partition = ? AND owner = ?').run(partition, owner);
  }

  holdsLease(partition: number, owner: string, now: number): boolean {
    return this.db.prepare('SELECT 1 FROM partition_leases WHERE partition = ? AND owner = ? AND expires_at > ?').get(partition, owner, now) !== undefined;
  }

  /** Activities nobody holds (or whose holder's visibility timeout passed), claimed for `owner` until `expiresAt`. */
  claimActivities(owner: string, now: number, expiresAt: number, limit: number): { id: number; instance_id: string; data: string }[] {
    return this.tx(() => {
      const rows = this.stmts.claimableActivities.all(now, limit) as { id: number; instance_id: string; data: string }[];
      for (const row of rows) this.stmts.leaseWork.run(owner, expiresAt, row.id);
      return rows;
    });
  }

  renewActivity(id: number, owner: string, expiresAt: number): boolean {
    return this.stmts.renewWork.run(expiresAt, id, owner).changes === 1;
  }

  /** Deletes an activity this worker still holds; false when its lease passed to another worker. */
  completeActivity(id: number, owner: string): boolean {
    return this.stmts.deleteLeasedWork.run(id, owner).changes === 1;
  }

  largeInput(id: string): unknown {
    const row = this.stmts.largeInput.get(id) as { input: string } | undefined;
    return row ? (JSON.parse(row.input) as unknown) : null;
  }

  deleteInstance(id: string): void {
    this.stmts.deleteInstance.run(id);
    this.stmts.deleteLargeInput.run(id);
    this.stmts.deleteHistory.run(id);
    this.stmts.deleteInboxOf.run(id);
    this.stmts.deleteWorkOf.run(id);
  }

  /** Every instance, with inputs stored apart put back. */
  allInstances(): { id: string; data: Record<string, unknown> }[] {
    return (this.stmts.allInstances.all() as { id: string; data: string }[]).map((row) => {
      const data = JSON.parse(row.data) as Record<string, unknown>;
      if (data.inputStoredApart) {
        delete data.inputStoredApart;
        data.input = this.largeInput(row.id);
      }
      return { id: row.id, data };
    });
  }

  addHistory(instanceId: string, execution: number, seq: number, event: unknown): void {
    this.stmts.addHistory.run(instanceId, execution, seq, JSON.stringify(event));
  }

  history(instanceId: string): { execution: number; event: Record<string, unknown> }[] {
    const rows = this.stmts.history.all(instanceId) as { execution: number; event: string }[];
    return rows.map((r) => ({ execution: r.execution, event: JSON.parse(r.event) as Record<string, unknown> }));
  }

  addInbox(instanceId: string, msg: unknown): number {
    return Number(this.stmts.addInbox.run(instanceId, JSON.stringify(msg), partitionOf(instanceId, this.partitionCount)).lastInsertRowid);
  }

  deleteInbox(seq: number): void {
    this.stmts.deleteInbox.run(seq);
  }

  deleteInboxOf(instanceId: string): void {
    this.stmts.deleteInboxOf.run(instanceId);
  }

  allInbox(): { seq: number; instance_id: string; msg: string }[] {
    return this.stmts.allInbox.all() as { seq: number; instance_id: string; msg: string }[];
  }

  addWork(instanceId: string, data: { kind: string }): number {
    return Number(this.stmts.addWork.run(instanceId, JSON.stringify(data), data.kind, partitionOf(instanceId, this.partitionCount)).lastInsertRowid);
  }

  deleteWork(id: number): void {
    this.stmts.deleteWork.run(id);
  }

  deleteWorkOf(instanceId: string): void {
    this.stmts.deleteWorkOf.run(instanceId);
  }

  allWork(): { id: number; instance_id: string; data: string }[] {
    return this.stmts.allWork.all() as { id: number; instance_id: string; data: string }[];
  }

  close(): void {
    this.db.close();
  }
}
