/**
 * A real Docker client whose attach streams (an exec's, or a container's own when its first step
 * is its process) are cut (destroyed) as soon as their output contains `marker`: what a dropped
 * connection to the engine looks like to the executor, while the step itself keeps running.
 */
import type { Duplex } from 'node:stream';
import Docker from 'dockerode';

export class CuttingDocker extends Docker {
  /** How many attach streams were cut. */
  cuts = 0;

  constructor(private readonly marker: string) {
    super();
  }

  private cutOnMarker(stream: Duplex): Duplex {
    stream.on('data', (chunk: Buffer) => {
      if (!chunk.includes(this.marker)) return;
      this.cuts += 1;
      stream.destroy();
    });
    return stream;
  }

  override getContainer(id: string): Docker.Container {
    const container = super.getContainer(id);
    const createExec = container.exec.bind(container);
    container.exec = (async (options: Docker.ExecCreateOptions) => {
      const exec = await createExec(options);
      const start = exec.start.bind(exec);
      exec.start = (async (startOptions: Docker.ExecStartOptions) =>
        this.cutOnMarker(await start(startOptions))) as typeof exec.start;
      return exec;
    }) as typeof container.exec;
    const attach = container.attach.bind(container);
    container.attach = (async (options: Docker.ContainerAttachOptions) =>
      this.cutOnMarker((await attach(options)) as Duplex)) as typeof container.attach;
    return container;
  }
}
