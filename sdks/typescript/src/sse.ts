/**
 * A Server-Sent Events parser (the HTML Living Standard's rules): lines end in LF, CRLF
 * or CR, wherever the chunks of the body split them; a blank line ends a message; a line
 * starting with `:` is a comment.
 */

/** One message of the stream. */
export interface ServerSentEvent {
  /** `id:`, when the message had one. */
  id: string | undefined;
  /** `event:`, when the message had one. */
  event: string | undefined;
  /** The `data:` lines, joined by `\n`. */
  data: string;
}

/** Splits a stream into messages: feed it the body's chunks (bytes or text) in order. */
export class SSEParser {
  readonly #decoder = new TextDecoder('utf-8');
  #line = '';
  /** The last character seen was a CR: an LF right after it ends no second line. */
  #afterCr = false;
  #started = false;
  #id: string | undefined;
  #event: string | undefined;
  #data: string[] = [];

  /** Feeds `chunk`; returns the messages it completed. Bytes may split characters anywhere. */
  feed(chunk: Uint8Array | string): ServerSentEvent[] {
    let text = typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    const done: ServerSentEvent[] = [];
    if (text === '') return done;
    if (this.#afterCr && text.startsWith('\n')) text = text.slice(1);
    this.#afterCr = false;
    let start = 0;
    while (start < text.length) {
      const cr = text.indexOf('\r', start);
      const lf = text.indexOf('\n', start);
      const end = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      if (end === -1) {
        this.#line += text.slice(start);
        break;
      }
      const line = this.#line + text.slice(start, end);
      this.#line = '';
      const message = this.#takeLine(line);
      if (message) done.push(message);
      // A CR ends the line at once (a stream may pause after it); an LF that follows
      // belongs to it, here or at the start of the next chunk.
      let next = end + 1;
      if (text[end] === '\r') {
        if (next === text.length) this.#afterCr = true;
        else if (text[next] === '\n') next += 1;
      }
      start = next;
    }
    return done;
  }

  #takeLine(raw: string): ServerSentEvent | undefined {
    let line = raw;
    if (!this.#started) {
      this.#started = true;
      if (line.startsWith('\ufeff')) line = line.slice(1);
    }
    if (line === '') {
      const message =
        this.#data.length > 0 ? { id: this.#id, event: this.#event, data: this.#data.join('\n') } : undefined;
      this.#id = undefined;
      this.#event = undefined;
      this.#data = [];
      return message;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.#data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.#id = value;
    else if (field === 'event') this.#event = value;
    // `retry:` and unknown fields: nothing this client uses.
    return undefined;
  }
}
