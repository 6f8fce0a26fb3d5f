/** Raw HTTP over a loopback socket, for requests no HTTP client would send. */
import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  head: string;
  body: string;
}

/** Writes `request` as is and reads until the server closes or `until` matches the text so far. */
export function rawRequest(url: string, request: string | Buffer, ms = 10_000): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(request));
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within ${ms} ms: ${JSON.stringify(text.slice(0, 200))}`));
    }, ms);
    const finish = () => {
      clearTimeout(timer);
      const [head = '', body = ''] = text.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, head, body });
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      // An answer with a known length is complete before the server closes a kept-alive socket.
      const length = /content-length: (\d+)/i.exec(text)?.[1];
      const at = text.indexOf('\r\n\r\n');
      if (length !== undefined && at >= 0 && Buffer.byteLength(text.slice(at + 4)) >= Number(length)) {
        socket.destroy();
        finish();
      }
    });
    socket.on('close', finish);
    socket.on('error', () => undefined); // 'close' follows
  });
}
