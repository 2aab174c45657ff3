/**
 * Tags each line a child writes with its name, so the output of several
 * processes sharing one terminal stays readable. Chunks are split on newlines
 * (a line may arrive in pieces, a multi-byte character across two chunks);
 * an unterminated last line is written when the stream ends.
 */
import { StringDecoder } from 'node:string_decoder';

/** A line longer than this is written in pieces rather than held without bound. */
const MAX_PENDING = 64 * 1024;

export interface LineSink {
  write(text: string): unknown;
}

export class LinePrefixer {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  constructor(
    private readonly prefix: string,
    private readonly sink: LineSink,
  ) {}

  push(chunk: Buffer | string): void {
    this.pending += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    const lastNewline = this.pending.lastIndexOf('\n');
    if (lastNewline >= 0) {
      this.emit(this.pending.slice(0, lastNewline).split('\n'));
      this.pending = this.pending.slice(lastNewline + 1);
    }
    if (this.pending.length > MAX_PENDING) {
      this.emit([this.pending]);
      this.pending = '';
    }
  }

  end(): void {
    this.pending += this.decoder.end();
    if (this.pending !== '') this.emit([this.pending]);
    this.pending = '';
  }

  private emit(lines: string[]): void {
    this.sink.write(lines.map((line) => `${this.prefix}${line.replace(/\r$/, '')}\n`).join(''));
  }
}
