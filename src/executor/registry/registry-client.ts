/**
 * The Docker registry HTTP API (Docker Distribution v2) for what the service reads itself: a
 * repository's tags, a tag's manifest digest, deleting a tag's manifest. Plain HTTP on loopback
 * (the tests, a registry beside the service), HTTPS otherwise, as dockerd does. Every request has
 * a deadline.
 */
const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

export class RegistryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegistryError';
  }
}

export class RegistryClient {
  private readonly base: string;

  constructor(
    /** `host[:port]`, as images name it. */
    readonly address: string,
    private readonly timeoutMs = 30_000,
  ) {
    const host = address.replace(/:\d+$/, '');
    const loopback = host === 'localhost' || host === '::1' || /^127\./.test(host);
    this.base = `${loopback ? 'http' : 'https'}://${address}/v2`;
  }

  /** `zero-os/initramfs:master` → `127.0.0.1:5000/zero-os/initramfs:master`. */
  qualify(image: string): string {
    return `${this.address}/${image}`;
  }

  private async request(method: string, path: string, accept?: string): Promise<Response> {
    try {
      return await fetch(`${this.base}/${path}`, {
        method,
        headers: accept ? { accept } : {},
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'error',
      });
    } catch (error) {
      throw new RegistryError(`registry ${this.address}: ${method} ${path}: ${(error as Error).message}`);
    }
  }

  /** Tags of a repository; none when the registry does not know it (no build committed yet). */
  async tags(repository: string): Promise<string[]> {
    const response = await this.request('GET', `${repository}/tags/list`);
    if (response.status === 404) return [];
    if (!response.ok)
      throw new RegistryError(`registry ${this.address}: tags of ${repository}: HTTP ${response.status}`);
    const body = (await response.json()) as { tags?: string[] | null };
    return body.tags ?? [];
  }

  /** The manifest digest a tag names now (`sha256:…`); null when there is no such tag. */
  async digest(repository: string, tag: string): Promise<string | null> {
    const response = await this.request('HEAD', `${repository}/manifests/${tag}`, MANIFEST_TYPES);
    if (response.status === 404) return null;
    if (!response.ok)
      throw new RegistryError(`registry ${this.address}: ${repository}:${tag}: HTTP ${response.status}`);
    const digest = response.headers.get('docker-content-digest');
    // Retention compares digests before deleting: a registry that hides them is an error, not "none".
    if (!digest)
      throw new RegistryError(`registry ${this.address}: ${repository}:${tag}: no Docker-Content-Digest`);
    return digest;
  }

  /** Deletes the manifest a tag names (the registry needs `storage.delete.enabled`). */
  async deleteTag(repository: string, tag: string): Promise<boolean> {
    const digest = await this.digest(repository, tag);
    return digest ? this.deleteManifest(repository, digest) : false;
  }

  /**
   * Deletes a manifest by digest: every tag naming it goes with it (the Distribution API deletes
   * by digest only). False when the registry no longer has it.
   */
  async deleteManifest(repository: string, digest: string): Promise<boolean> {
    const response = await this.request('DELETE', `${repository}/manifests/${digest}`);
    if (response.status === 404) return false;
    if (!response.ok)
      throw new RegistryError(
        `registry ${this.address}: delete ${repository}@${digest}: HTTP ${response.status}` +
          (response.status === 405 ? ' (deletes are off: storage.delete.enabled)' : ''),
      );
    return true;
  }
}
