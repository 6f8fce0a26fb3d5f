/**
 * Pulling and pushing images on one engine, and what it holds. A transfer gets an idle deadline
 * (renewed on each progress line), so a large image may take as long as it keeps moving while a
 * wedged engine or registry fails the call.
 */
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { ENGINE_TIMEOUTS, idleDeadline, statusOf, withTimeout } from './engine-timeout.js';

interface ProgressEvent {
  status?: string;
  id?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/**
 * `GET /images/{name}/json` as dockerode's `Image.inspect` sends it, with the deadline's signal:
 * dockerode 5 leaves `abortSignal` out of that call, so an inspect past its deadline kept its
 * connection open until the engine answered.
 */
function dialInspect(
  docker: Docker,
  image: string,
  abortSignal: AbortSignal,
): Promise<Docker.ImageInspectInfo> {
  return new Promise((resolve, reject) => {
    docker.modem.dial(
      {
        path: `/images/${image}/json`,
        method: 'GET',
        options: {},
        abortSignal,
        statusCodes: { 200: true, 404: 'no such image', 500: 'server error' },
      },
      (error, data) => (error ? reject(error) : resolve(data as Docker.ImageInspectInfo)),
    );
  });
}

/** The engine's inspect of `image`; null when it does not hold it. */
export async function inspectImage(
  docker: Docker,
  image: string,
  ms = ENGINE_TIMEOUTS.call,
): Promise<Docker.ImageInspectInfo | null> {
  try {
    return await withTimeout('image inspect', ms, (abortSignal) => dialInspect(docker, image, abortSignal));
  } catch (error) {
    if (statusOf(error) === 404) return null;
    throw error;
  }
}

/** The digests (`repo@sha256:…`) the engine knows for `image`; null when it does not hold it. */
export async function repoDigests(
  docker: Docker,
  image: string,
  ms = ENGINE_TIMEOUTS.call,
): Promise<string[] | null> {
  const info = await inspectImage(docker, image, ms);
  return info && (info.RepoDigests ?? []);
}

async function follow(
  what: string,
  start: (abortSignal: AbortSignal) => Promise<Readable>,
  idleMs: number,
  onProgress?: (line: string) => void,
): Promise<void> {
  const deadline = idleDeadline(what, idleMs);
  try {
    const stream = await start(deadline.signal).catch((error: unknown) => {
      throw deadline.timedOut() ?? error;
    });
    deadline.progress();
    await new Promise<void>((resolve, reject) => {
      let failure: string | null = null;
      let buffered = '';
      const onAbort = () => stream.destroy();
      deadline.signal.addEventListener('abort', onAbort, { once: true });
      const finish = (error?: Error) => {
        deadline.signal.removeEventListener('abort', onAbort);
        const timedOut = deadline.timedOut();
        if (timedOut) reject(timedOut);
        else if (error) reject(error);
        else if (failure) reject(new Error(`${what}: ${failure}`));
        else resolve();
      };
      stream.on('data', (chunk: Buffer) => {
        deadline.progress();
        buffered += chunk.toString('utf8');
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (!line) continue;
          try {
            // The engine reports a failed transfer as an event in a 200 response, not a status.
            const event = JSON.parse(line) as ProgressEvent;
            if (event.error) failure ??= event.errorDetail?.message ?? event.error;
            else onProgress?.(`${event.id ?? ''} ${event.status ?? ''}`.trim());
          } catch {
            // A line that is not JSON is not progress we can show.
          }
        }
      });
      stream.once('end', () => finish());
      stream.once('close', () => finish());
      stream.once('error', (error) => finish(error));
    });
  } finally {
    deadline.clear();
  }
}

export function pullImage(
  docker: Docker,
  image: string,
  onProgress?: (line: string) => void,
  idleMs = ENGINE_TIMEOUTS.call,
): Promise<void> {
  return follow(
    `pull ${image}`,
    (abortSignal) => docker.pull(image, { abortSignal }) as Promise<Readable>,
    idleMs,
    onProgress,
  );
}

export function pushImage(
  docker: Docker,
  image: string,
  onProgress?: (line: string) => void,
  idleMs = ENGINE_TIMEOUTS.call,
): Promise<void> {
  return follow(
    `push ${image}`,
    // An empty auth header: the engine refuses a push without one, a loopback registry needs none.
    (abortSignal) =>
      docker.getImage(image).push({ authconfig: {}, abortSignal } as never) as unknown as Promise<Readable>,
    idleMs,
    onProgress,
  );
}
