/**
 * `GET /api/config`: which config revision runs and since when; `POST /api/config/reload`
 * (write access): read the file again. An invalid file changes nothing and is answered 422
 * `CONFIG_REFUSED` with every problem (key path and reason).
 */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors.js';
import type { AppDeps } from '../app-deps.js';
import { registerWriteRoutes } from '../write-access.js';

export function registerConfigRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { configs } = deps;
  app.get('/api/config', async () => {
    const config = configs.current();
    return {
      revision: config.revision,
      loadedAt: configs.loadedAt,
      source: config.source,
      repositories: [...config.rules.keys()],
    };
  });

  registerWriteRoutes(app, deps.config.apiTokens, (writes) => {
    writes.post('/api/config/reload', async () => {
      const result = deps.reloadConfig('POST /api/config/reload');
      if (!result.ok)
        throw new AppError(
          'CONFIG_REFUSED',
          `${result.message}; still running revision ${result.revision}`,
          result.problems,
        );
      return result;
    });
  });
}
