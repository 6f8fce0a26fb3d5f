/**
 * A real Docker client whose exec attach streams are cut (destroyed) as soon as their output
 * contains `marker`: what a dropped connection to the engine looks like to the executor, while
 * the step itself keeps running in the container.
 */
import Docker from 'dockerode';

export class CuttingDocker extends Docker {
  /** How many attach streams were cut. */
  cuts = 0;

  constructor(private readonly marker: string) {
    super();
  }

  override getContainer(id: string): Docker.Container {
    const container = super.getContainer(id);
    const createExec = container.exec.bind(container);
    container.exec = (async (options: Docker.ExecCreateOptions) => {
      const exec = await createExec(options);
      const start = exec.start.bind(exec);
      exec.start = (async (startOptions: Docker.ExecStartOptions) => {
        const stream = await start(startOptions);
        stream.on('data', (chunk: Buffer) => {
          if (!chunk.includes(this.marker)) return;
          this.cuts += 1;
          stream.destroy();
        });
        return stream;
      }) as typeof exec.start;
      return exec;
    }) as typeof container.exec;
    return container;
  }
}
