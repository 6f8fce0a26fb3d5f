/** `GET /kernels/:name`: a published kernel from KERNEL_TARGET, for the monitor's download links. */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors.js';
import type { AppDeps } from '../app-deps.js';

export function registerKernelRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Params: { name: string } }>('/kernels/:name', async (request, reply) => {
    const { name } = request.params;
    if (name !== basename(name) || name.startsWith('.') || name.includes('\0')) {
      throw new AppError('BAD_REQUEST', 'not a kernel file name');
    }
    const path = join(deps.config.kernelTarget, name);
    const info = await stat(path).catch(() => null);
    if (!info?.isFile()) throw new AppError('NOT_FOUND', `no kernel ${name}`);
    return reply
      .type('application/octet-stream')
      .header('content-length', info.size)
      .header('content-disposition', `attachment; filename="${name.replace(/"/g, '')}"`)
      .send(createReadStream(path));
  });
}
