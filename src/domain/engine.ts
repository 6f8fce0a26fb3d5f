/** A Docker engine builds run on (config `engines:`). Pure types: no I/O here. */

export interface EngineTls {
  /** Paths of PEM files on the service's host. */
  ca: string;
  cert: string;
  key: string;
}

export interface EngineSsh {
  /** Path of the private key (OpenSSH or PEM, no passphrase); none: the ssh-agent (SSH_AUTH_SOCK). */
  key?: string;
  /** The host key's fingerprint as `ssh-keygen -lf` prints it (`SHA256:…`); none: any host key. */
  hostKey?: string;
}

export interface EngineConfig {
  /** Unique; recorded on each build that ran there. */
  name: string;
  /** `unix:///path`, `tcp://host:port` (with `tls`) or `ssh://user@host[:port]`. */
  url: string;
  /** Builds at once on this engine (the global `concurrency` still caps the sum). */
  capacity: number;
  tls?: EngineTls;
  /** For `ssh://` engines: how to log in and which host to trust. */
  ssh?: EngineSsh;
  /** The default engine: Docker's own environment (DOCKER_HOST…) decides, as before engines. */
  fromEnvironment?: boolean;
}

/** The engine used when the config has no `engines:` key: the local socket, as before. */
export const LOCAL_ENGINE_NAME = 'local';
export const LOCAL_ENGINE_URL = 'unix:///var/run/docker.sock';
