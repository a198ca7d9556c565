/**
 * Durable state in SQLite (better-sqlite3, WAL). Everything the engine holds in memory is written
 * through here in one transaction per step, so a SIGKILL loses at most the step in progress.
 */
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** DTFx's Azure Storage tracking store: a table property over 60 KB of UTF-16 goes to a blob. */
export const LARGE_INPUT_UTF16_BYTES = 60 * 1024;

export interface HistoryRow {
  instanceId: string;
  execution: number;
  event: Record<string, unknown>;
}

export class Store {
  readonly db: Database.Database;
  private readonly stmts;

  constructor(stateDir: string) {
    let file = ':memory:';
    if (stateDir !== ':memory:') {
      fs.mkdirSync(stateDir, { recursive: true });
      file = path.join(stateDir, 'durable.sqlite');
    }
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS instances (id TEXT PRIMARY KEY, data TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS history (instance_id TEXT NOT NULL, execution INTEGER NOT NULL, seq INTEGER NOT NULL,
        event TEXT NOT NULL, PRIMARY KEY (instance_id, execution, seq));
      CREATE TABLE IF NOT EXISTS inbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, instance_id TEXT NOT NULL, msg TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS work (id INTEGER PRIMARY KEY AUTOINCREMENT, instance_id TEXT NOT NULL, data TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS large_inputs (instance_id TEXT PRIMARY KEY, input TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
    this.stmts = {
      putInstance: this.db.prepare('INSERT OR REPLACE INTO instances (id, data) VALUES (?, ?)'),
      deleteInstance: this.db.prepare('DELETE FROM instances WHERE id = ?'),
      allInstances: this.db.prepare('SELECT id, data FROM instances'),
      addHistory: this.db.prepare('INSERT INTO history (instance_id, execution, seq, event) VALUES (?, ?, ?, ?)'),
      history: this.db.prepare('SELECT execution, event FROM history WHERE instance_id = ? ORDER BY execution, seq'),
      deleteHistory: this.db.prepare('DELETE FROM history WHERE instance_id = ?'),
      addInbox: this.db.prepare('INSERT INTO inbox (instance_id, msg) VALUES (?, ?)'),
      deleteInbox: this.db.prepare('DELETE FROM inbox WHERE seq = ?'),
      deleteInboxOf: this.db.prepare('DELETE FROM inbox WHERE instance_id = ?'),
      allInbox: this.db.prepare('SELECT seq, instance_id, msg FROM inbox ORDER BY seq'),
      addWork: this.db.prepare('INSERT INTO work (instance_id, data) VALUES (?, ?)'),
      deleteWork: this.db.prepare('DELETE FROM work WHERE id = ?'),
      deleteWorkOf: this.db.prepare('DELETE FROM work WHERE instance_id = ?'),
      allWork: this.db.prepare('SELECT id, instance_id, data FROM work ORDER BY id'),
      putLargeInput: this.db.prepare('INSERT OR REPLACE INTO large_inputs (instance_id, input) VALUES (?, ?)'),
      deleteLargeInput: this.db.prepare('DELETE FROM large_inputs WHERE instance_id = ?'),
      largeInput: this.db.prepare('SELECT input FROM large_inputs WHERE instance_id = ?'),
      getMeta: this.db.prepare('SELECT value FROM meta WHERE name = ?'),
      putMeta: this.db.prepare('INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)'),
    };
  }

  /** A value kept with the state (the host's generated system key survives a restart, as in Azure). */
  meta(name: string, create: () => string): string {
    const row = this.stmts.getMeta.get(name) as { value: string } | undefined;
    if (row) return row.value;
    const value = create();
    this.stmts.putMeta.run(name, value);
    return value;
  }

  tx<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /**
   * An input over 60 KB of UTF-16 is kept in its own table, as Azure Storage's tracking store
   * moves such a property to a blob (DurableTask.AzureStorage AzureTableTrackingStore.cs); status
   * reads fetch it from there (largeInput).
   */
  putInstance(id: string, data: { input?: unknown }): void {
    const input = JSON.stringify(data.input ?? null);
    if (input.length * 2 > LARGE_INPUT_UTF16_BYTES) {
      this.stmts.putLargeInput.run(id, input);
      this.stmts.putInstance.run(id, JSON.stringify({ ...data, input: undefined, inputStoredApart: true }));
    } else {
      this.stmts.deleteLargeInput.run(id);
      this.stmts.putInstance.run(id, JSON.stringify(data));
    }
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
    return Number(this.stmts.addInbox.run(instanceId, JSON.stringify(msg)).lastInsertRowid);
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

  addWork(instanceId: string, data: unknown): number {
    return Number(this.stmts.addWork.run(instanceId, JSON.stringify(data)).lastInsertRowid);
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
