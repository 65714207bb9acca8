// Follows NGINX's traffic log and hands each complete line over. NGINX writes it in blocks of
// whole lines (buffer=, flush=), so the file is read every `pollMs` from where the last read
// stopped. The agent keeps the file small: past `rotateBytes` it renames it and asks NGINX to
// reopen its logs (SIGUSR1), and keeps reading the renamed file until no NGINX process has it
// open any more (workers flush their buffers into it as they reopen), then deletes it. Should the
// workers fail to reopen (NGINX logs an [emerg]), they keep writing into the renamed file, which
// is then followed for as long as they do: nothing is lost, and nothing more is rotated.
import { closeSync, fstatSync, openSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { holdsFile } from './nginx.js';

export interface TrafficLogOptions {
  file: string;
  onLine: (line: string) => void;
  /** Asks NGINX to reopen its log files (SIGUSR1 to the master); false when no master runs. */
  reopenLogs: () => boolean;
  pollMs?: number;
  rotateBytes?: number;
  /** The NGINX master and workers: a rotated file is deleted once none of them has it open. */
  writers: () => number[];
  /** And once it has not grown for this long. */
  drainMs?: number;
  /** A poll that failed (reading, renaming); the next poll tries again. */
  onError?: (error: unknown) => void;
}

interface OpenFile {
  fd: number;
  dev: number;
  ino: number;
  offset: number;
  /** A line not yet complete. */
  partial: string;
}

const CHUNK = 1 << 20;
const MAX_LINE = 64 << 10;

export class TrafficLogTail {
  private current: OpenFile | undefined;
  private rotated: { file: OpenFile; path: string; grewAt: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly buffer = Buffer.allocUnsafe(CHUNK);

  constructor(private readonly options: TrafficLogOptions) {}

  /** Starts following the log from its current end (what an earlier life of the pod logged is not counted again). */
  start(): void {
    rmSync(this.rotatedPath, { force: true });
    this.current = this.open(true);
    this.timer = setInterval(() => {
      try {
        this.poll();
      } catch (error) {
        // A file system error must not end the agent from a timer: the next poll tries again.
        this.options.onError?.(error);
      }
    }, this.options.pollMs ?? 500);
    this.timer.unref();
  }

  /** Reads what is there, then stops. */
  stop(): void {
    clearInterval(this.timer);
    this.poll();
    for (const file of [this.current, this.rotated?.file]) if (file) closeSync(file.fd);
    this.current = undefined;
    this.rotated = undefined;
  }

  private get rotatedPath(): string {
    return `${this.options.file}.1`;
  }

  private open(atEnd: boolean): OpenFile | undefined {
    try {
      const fd = openSync(this.options.file, 'r');
      const stat = fstatSync(fd);
      return { fd, dev: stat.dev, ino: stat.ino, offset: atEnd ? stat.size : 0, partial: '' };
    } catch {
      return undefined;
    }
  }

  /** Reads every complete line appended since the last read. */
  poll(): void {
    if (this.rotated) {
      if (this.read(this.rotated.file) > 0) this.rotated.grewAt = Date.now();
      if (
        this.current &&
        Date.now() - this.rotated.grewAt > (this.options.drainMs ?? 1000) &&
        !holdsFile(this.options.writers(), this.rotated.file) &&
        this.read(this.rotated.file) === 0
      ) {
        closeSync(this.rotated.file.fd);
        rmSync(this.rotated.path, { force: true });
        this.rotated = undefined;
      }
    }
    if (!this.current) {
      // NGINX has not created it yet (or not yet reopened it after a rotation).
      this.current = this.open(false);
      if (!this.current) return;
    }
    this.read(this.current);
    let onDisk: number | undefined;
    try {
      onDisk = statSync(this.options.file).ino;
    } catch {
      onDisk = undefined;
    }
    if (onDisk !== this.current.ino && !this.rotated) {
      // Renamed or replaced (a rotation): keep reading the old one while workers flush into it.
      this.rotated = { file: this.current, path: this.rotatedPath, grewAt: Date.now() };
      this.current = onDisk === undefined ? undefined : this.open(false);
    } else if (this.current.offset >= (this.options.rotateBytes ?? 16 << 20) && !this.rotated) {
      this.rotate();
    }
  }

  private rotate(): void {
    try {
      renameSync(this.options.file, this.rotatedPath);
    } catch {
      return;
    }
    if (!this.options.reopenLogs()) {
      try {
        renameSync(this.rotatedPath, this.options.file);
      } catch {
        // Gone meanwhile: the open handle still reads what it held, and the next poll follows
        // whatever file is at the path then.
      }
      return;
    }
    this.rotated = { file: this.current!, path: this.rotatedPath, grewAt: Date.now() };
    this.current = undefined;
  }

  /** Reads to the end; returns how many bytes it read. */
  private read(file: OpenFile): number {
    let total = 0;
    for (;;) {
      const n = readSync(file.fd, this.buffer, 0, CHUNK, file.offset);
      if (n <= 0) return total;
      total += n;
      file.offset += n;
      const text = file.partial + this.buffer.toString('utf8', 0, n);
      const lines = text.split('\n');
      file.partial = lines.pop()!;
      // NGINX ends every line; something else writing here must not grow memory without bound.
      if (file.partial.length > MAX_LINE) file.partial = '';
      for (const line of lines) if (line) this.options.onLine(line);
      if (n < CHUNK) return total;
    }
  }
}
