/** A repository rule for builds on the fake executor: its one image, checkout in /src, no network. */
export function fakeRule(steps: string[] = ['true'], extra: Record<string, unknown> = {}) {
  return { image: 'fake/base:latest', checkout: '/src', network: 'none', steps, ...extra };
}
