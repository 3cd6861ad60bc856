import Database from 'better-sqlite3';
import { InspectdError } from '../errors.js';

/**
 * One daemon per verdict log. Two daemons on one log hand out the same seqs and mix their rows,
 * so the second is refused at open. The lock is an exclusive SQLite lock on a small file beside
 * the database (`<db>-lock`), held for the life of the recorder: SQLite's locks are POSIX record
 * locks, which the kernel drops when the process dies, so a SIGKILL leaves no stale lock; and the
 * verdict database itself is not locked, so `inspectd verdicts` and the outbox reader still read it.
 * (SQLite's own locking_mode=EXCLUSIVE on the log would also shut out those readers.)
 */
export class LogLock {
  private constructor(
    private readonly db: Database.Database,
    readonly file: string,
  ) {}

  static acquire(dbPath: string): LogLock {
    const file = `${dbPath}-lock`;
    let db: Database.Database;
    try {
      db = new Database(file);
      db.pragma('busy_timeout = 0');
      db.pragma('locking_mode = EXCLUSIVE');
    } catch (err) {
      throw new InspectdError('INSPECTD_STORE', `cannot open the verdict log's lock file ${file}: ${(err as Error).message}`, { cause: err });
    }
    try {
      // Never committed: the transaction holds the EXCLUSIVE lock until release() or death.
      db.exec('BEGIN EXCLUSIVE');
    } catch (err) {
      db.close();
      const busy = (err as { code?: string }).code === 'SQLITE_BUSY';
      throw new InspectdError(
        busy ? 'INSPECTD_LOG_IN_USE' : 'INSPECTD_STORE',
        busy
          ? `verdict log ${dbPath} is in use by another inspectd (lock ${file} is held); one daemon per log`
          : `cannot lock the verdict log ${dbPath}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    return new LogLock(db, file);
  }

  release(): void {
    if (!this.db.open) return;
    try {
      this.db.exec('ROLLBACK');
    } finally {
      this.db.close();
    }
  }
}
