/** Push webhooks sent to a harness's service as GitHub sends them (signed), without a socket. */
import assert from 'node:assert/strict';
import type { Build } from '../../src/domain/build.js';
import { waitForFinal, type Harness } from './harness.js';
import { injectFetch } from './inject.js';
import { pushPayload, webhookHeaders, type PushOptions } from './webhook.js';

export interface SendOptions {
  secret?: string;
  /** The `:project` of the webhook URL (default `test`). */
  project?: string;
  delivery?: string;
}

/** Posts a body as a push webhook; asserts the 202 and answers the service's JSON. */
export async function postPush(
  h: Harness,
  body: string,
  options: SendOptions = {},
): Promise<{ id: number; duplicate?: boolean }> {
  const response = await injectFetch(h.service.app)(`/build/${options.project ?? 'test'}/hook`, {
    method: 'POST',
    body,
    headers: webhookHeaders(body, { secret: options.secret, delivery: options.delivery }),
  });
  assert.equal(response.status, 202, await response.clone().text());
  return (await response.json()) as { id: number; duplicate?: boolean };
}

/** Sends the push and waits until the build it made has ended. */
export async function pushAndWait(
  h: Harness,
  push: PushOptions,
  options: SendOptions & { ms?: number } = {},
): Promise<Build> {
  const { id } = await postPush(h, JSON.stringify(pushPayload(push)), options);
  return waitForFinal(h, id, options.ms ?? 120_000);
}
