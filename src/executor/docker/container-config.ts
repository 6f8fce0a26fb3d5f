/**
 * The engine's configuration of a build container: limits, labels, mounts and its process. One
 * place, so that every container of a build has the same limits whatever runs first in it.
 */
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { pack } from 'tar-stream';
import { capabilitySets, DEFAULT_MEMORY_BYTES, DEFAULT_PIDS_LIMIT } from '../../domain/limits.js';
import {
  BUILD_LABEL,
  INSTANCE_LABEL,
  MANAGED_LABEL,
  type ContainerSpec,
  type FirstStep,
} from '../executor.js';
import { MERGE_STDERR } from './step-stream.js';

/** Waits for exec without running anything of its own; exits on SIGTERM. */
const IDLE_SCRIPT = 'trap "exit 0" TERM INT; while :; do sleep 3600 & wait $!; done';
const IDLE_COMMAND = ['/bin/sh', '-c', IDLE_SCRIPT];

/**
 * Where the note that step 1 ran is kept: an anonymous volume of the container, so it survives the
 * stop between step 1 and `resume`, is never committed into an image and is shared with nothing.
 * The executor puts the note in before it starts the container again (`resume`): the step runs as
 * the image's USER, which may not be root and could not write into the empty volume (root's, mode
 * 755), and no extra engine call is spent before step 1, only before the next step.
 */
export const FIRST_STEP_MARKS = '/run/autobuilder';
const MARK = `${FIRST_STEP_MARKS}/first-step-ran`;
/**
 * What became of the source given on stdin: `unpacked`, `no-tar` or `failed <tar's status>`. Read
 * by the service only when step 1's exit code is not 0, to tell a failed unpack from the step's own
 * failure. The step could overwrite it, but then only its own build is misreported.
 */
export const SOURCE_NOTE = `${FIRST_STEP_MARKS}/source`;

/**
 * Unpacks the source from stdin: a line with the archive's length, then the archive. `head -c`
 * ends tar's input at the archive's last byte (busybox tar reads to end of file, past the archive's
 * end marker, and the service never half-closes the attach stream: ssh and TLS engines may not
 * carry a half-close). Nothing of the step runs unless tar exited 0; stdin is closed before it.
 */
const UNPACK_SCRIPT =
  // A file on PATH: busybox's shell answers `command -v` for its applets whether a file is there
  // or not, and a build that removed its tar expects none.
  'for tool in tar head; do found=; IFS=:; for dir in $PATH; do [ -x "$dir/$tool" ] && found=1; done; ' +
  `unset IFS; [ -n "$found" ] || { echo no-tar > ${SOURCE_NOTE}; exit 125; }; done\n` +
  `read -r bytes || bytes=\n` +
  `case $bytes in ''|*[!0-9]*) echo "failed no length" > ${SOURCE_NOTE}; exit 125;; esac\n` +
  `head -c "$bytes" | tar -x -f - -C /\n` +
  `status=$?\n` +
  `if [ $status -ne 0 ]; then echo "failed $status" > ${SOURCE_NOTE}; exit 125; fi\n` +
  'exec </dev/null\n' +
  `echo unpacked > ${SOURCE_NOTE}\n`;

/** The note, as an archive to put into the container at `/`. */
export function firstStepNoteArchive(): Readable {
  const archive = pack();
  archive.entry({ name: MARK.slice(1), type: 'file', mode: 0o444 }, '');
  archive.finalize();
  // A streamx Readable: piped and iterated as a Node one.
  return archive as unknown as Readable;
}

/**
 * The container's process when step 1 runs as it: at the first start, the step (its stderr merged
 * into its stdout at the source, as for exec: the engine reorders two pipes); at any later start
 * (`resume`), idle. The step and its directory are arguments, never text in the script. The step
 * runs in a shell of its own, as an exec'd step does, not as the container's PID 1: PID 1 ignores
 * every signal it has no handler for, so a step that ends itself (`kill $$` on a fatal error, a
 * tool's SIGTERM) would carry on. The `exit` after it keeps the shell from exec'ing the step, and
 * passes its status (128 + the signal when one ended it) on as the container's.
 */
export function firstStepCommand(step: FirstStep): string[] {
  const script =
    `if [ -e ${MARK} ]; then ${IDLE_SCRIPT}; fi\n` +
    MERGE_STDERR +
    (step.sourceOnStdin ? UNPACK_SCRIPT : '') +
    (step.workingDir ? 'cd -- "$2" || exit 125\n' : '') +
    // The shell's notice of a child a signal ended ("Terminated") goes to its own stderr, which is
    // not the step's output: the step merges its stderr into its stdout itself, as an exec'd one.
    'exec 2>/dev/null\n' +
    'sh -c "$1"\n' +
    'exit $?';
  return [
    '/bin/sh',
    '-c',
    script,
    'sh',
    MERGE_STDERR + step.command,
    ...(step.workingDir ? [step.workingDir] : []),
  ];
}

/** The engine's form of an environment (`KEY=value` lines): a container's, or an exec's. */
export function envList(env: Record<string, string>): string[] {
  return Object.entries(env).map(([key, value]) => `${key}=${value}`);
}

export function containerOptions(spec: ContainerSpec, instance: string): Docker.ContainerCreateOptions {
  const caps = capabilitySets(spec.capAdd ?? []);
  // The step's directory is set by the first-step command (a container's WorkingDir would be
  // committed into the image); an exec'd step gets its own.
  const volumes = [...(spec.volumes ?? []), ...(spec.firstStep ? [FIRST_STEP_MARKS] : [])];
  return {
    Image: spec.image,
    Entrypoint: [],
    Cmd: spec.firstStep ? firstStepCommand(spec.firstStep) : IDLE_COMMAND,
    Env: envList(spec.env),
    WorkingDir: spec.workingDir,
    // As `docker run -i`: stdin open for the first attach only; it carries the source.
    ...(spec.firstStep?.sourceOnStdin ? { OpenStdin: true, StdinOnce: true, AttachStdin: true } : {}),
    Labels: {
      [MANAGED_LABEL]: 'true',
      [BUILD_LABEL]: String(spec.buildId),
      [INSTANCE_LABEL]: instance,
    },
    HostConfig: {
      NetworkMode: spec.network,
      Memory: spec.memoryBytes ?? DEFAULT_MEMORY_BYTES,
      PidsLimit: spec.pidsLimit ?? DEFAULT_PIDS_LIMIT,
      // setuid binaries a build drops into its image cannot raise its privileges.
      SecurityOpt: ['no-new-privileges'],
      CapDrop: caps.drop,
      CapAdd: caps.add,
      // The first step's output reaches the build log through attach; the engine's log driver
      // would write the same bytes (200 MB for a large build) to its own disk a second time.
      LogConfig: { Type: 'none', Config: {} },
      // Anonymous volumes: fresh for each container, not committed, not on any host path we use.
      Mounts: [
        ...volumes.map((target) => ({
          Type: 'volume' as const,
          Source: '',
          Target: target,
          // Typed as if labels and a driver were required; the engine needs neither.
          VolumeOptions: { NoCopy: true } as Docker.MountSettings['VolumeOptions'],
        })),
        // Named caches (createVolume made them). A read-only one is never written, not even by
        // the engine's copy of the image's files into an empty volume.
        ...(spec.caches ?? []).map((cache) => ({
          Type: 'volume' as const,
          Source: cache.volume,
          Target: cache.target,
          ReadOnly: cache.readOnly,
          ...(cache.readOnly
            ? { VolumeOptions: { NoCopy: true } as Docker.MountSettings['VolumeOptions'] }
            : {}),
        })),
      ],
      Init: false,
    },
  };
}
