// Follows NGINX's traffic log and hands each complete line over. NGINX writes it in blocks of
// whole lines (buffer=, flush=), so the file is read every `pollMs` from where the last read
// stopped. The agent keeps the file small: past `rotateBytes` it renames it and asks NGINX to
// reopen its logs (SIGUSR1), reads what the workers still flush into the renamed file for a
// grace period, then deletes it.
import { closeSync, fstatSync, openSync, readSync, renameSync, rmSync, statSync } from 'node:fs';

export interface TrafficLogOptions {
  file: string;
  onLine: (line: string) => void;
  /** Asks NGINX to reopen its log files (SIGUSR1 to the master); false when no master runs. */
  reopenLogs: () => boolean;
  pollMs?: number;
  rotateBytes?: number;
  /** How long a rotated file is still read after NGINX opened the new one (workers flush their buffers into it). */
  drainMs?: number;
}

interface OpenFile {
  fd: number;
  ino: number;
  offset: number;
  /** A line not yet complete. */
  partial: string;
}

const CHUNK = 1 << 20;

export class TrafficLogTail {
  private current: OpenFile | undefined;
  private rotated: { file: OpenFile; path: string; until: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly buffer = Buffer.allocUnsafe(CHUNK);

  constructor(private readonly options: TrafficLogOptions) {}

  /** Starts following the log from its current end (what an earlier life of the pod logged is not counted again). */
  start(): void {
    rmSync(this.rotatedPath, { force: true });
    this.current = this.open(true);
    this.timer = setInterval(() => this.poll(), this.options.pollMs ?? 500);
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
      return { fd, ino: stat.ino, offset: atEnd ? stat.size : 0, partial: '' };
    } catch {
      return undefined;
    }
  }

  /** Reads every complete line appended since the last read. */
  poll(): void {
    if (this.rotated) {
      this.read(this.rotated.file);
      if (Date.now() > this.rotated.until) {
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
      this.rotated = { file: this.current, path: this.rotatedPath, until: Date.now() + (this.options.drainMs ?? 3000) };
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
      renameSync(this.rotatedPath, this.options.file);
      return;
    }
    this.rotated = {
      file: this.current!,
      path: this.rotatedPath,
      until: Date.now() + (this.options.drainMs ?? 3000),
    };
    this.current = undefined;
  }

  private read(file: OpenFile): void {
    for (;;) {
      const n = readSync(file.fd, this.buffer, 0, CHUNK, file.offset);
      if (n <= 0) return;
      file.offset += n;
      const text = file.partial + this.buffer.toString('utf8', 0, n);
      const lines = text.split('\n');
      file.partial = lines.pop()!;
      for (const line of lines) if (line) this.options.onLine(line);
      if (n < CHUNK) return;
    }
  }
}
