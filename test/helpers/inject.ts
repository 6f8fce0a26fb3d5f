/**
 * `fetch` for an app that opens no port: the request goes through fastify's `inject()` and the
 * answer comes back as a standard `Response`, so tests written against fetch read it unchanged.
 */
import type { FastifyInstance, InjectOptions } from 'fastify';

export function injectFetch(app: FastifyInstance) {
  return async (path: string, init: RequestInit = {}): Promise<Response> => {
    const answer = await app.inject({
      method: (init.method ?? 'GET') as InjectOptions['method'],
      url: path,
      headers: init.headers as Record<string, string> | undefined,
      payload: init.body as string | Buffer | undefined,
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(answer.headers)) {
      for (const one of Array.isArray(value) ? value : [value])
        if (one !== undefined) headers.append(name, String(one));
    }
    const empty = answer.statusCode === 204 || answer.statusCode === 304;
    return new Response(empty ? null : new Uint8Array(answer.rawPayload), {
      status: answer.statusCode,
      headers,
    });
  };
}
