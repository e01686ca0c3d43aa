// Access log lines to standard output without ever blocking Portico: a bounded queue drained by asynchronous
// writes of whole lines. When standard output is slower than the requests, the queue fills and new lines are
// dropped and counted (portico_access_log_dropped_lines_total), never written in part. Portico's own lines (pino) are
// written synchronously to the same descriptor; each write of either is whole lines of at most PIPE_BUF bytes, which
// the kernel never interleaves on a pipe.
import { write } from 'node:fs';
import { LINE_MAX } from './output.js';

export interface LineSink {
  write(line: string): void;
}

export class BoundedLineWriter implements LineSink {
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private writing = false;
  dropped = 0;
  written = 0;
  /** The most bytes queued at once: how far standard output fell behind. */
  highWater = 0;

  constructor(
    private readonly fd: number,
    private readonly maxQueuedBytes = 8 << 20,
  ) {}

  write(line: string): void {
    const buf = Buffer.from(line);
    if (this.queuedBytes + buf.length > this.maxQueuedBytes) {
      this.dropped++;
      return;
    }
    this.queue.push(buf);
    this.queuedBytes += buf.length;
    this.highWater = Math.max(this.highWater, this.queuedBytes);
    this.drain();
  }

  /** Resolves once every queued line was written (or dropped). */
  async flushed(): Promise<void> {
    while (this.writing || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
  }

  private drain(): void {
    if (this.writing || this.queue.length === 0) return;
    let size = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || size + this.queue[n]!.length <= LINE_MAX)) size += this.queue[n++]!.length;
    const lines = this.queue.splice(0, n);
    this.queuedBytes -= size;
    this.writing = true;
    this.writeAll(Buffer.concat(lines, size), n);
  }

  private writeAll(buf: Buffer, lines: number): void {
    write(this.fd, buf, 0, buf.length, null, (err, done) => {
      if (err && err.code === 'EAGAIN') {
        setTimeout(() => this.writeAll(buf, lines), 5);
        return;
      }
      if (err) {
        // Standard output is gone (EPIPE): nothing will be read; count the lines rather than retry forever.
        this.dropped += lines;
      } else if (done < buf.length) {
        this.writeAll(buf.subarray(done), lines);
        return;
      } else {
        this.written += lines;
      }
      this.writing = false;
      this.drain();
    });
  }
}
