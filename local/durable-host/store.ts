/**
 * Durable state in SQLite (better-sqlite3, WAL). Everything the engine holds in memory is written
 * through here in one transaction per step, so a SIGKILL loses at most the step in progress.
 */
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';

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
    };
  }

  tx<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  putInstance(id: string, data: unknown): void {
    this.stmts.putInstance.run(id, JSON.stringify(data));
  }

  deleteInstance(id: string): void {
    this.stmts.deleteInstance.run(id);
    this.stmts.deleteHistory.run(id);
    this.stmts.deleteInboxOf.run(id);
    this.stmts.deleteWorkOf.run(id);
  }

  allInstances(): { id: string; data: string }[] {
    return this.stmts.allInstances.all() as { id: string; data: string }[];
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
