/**
 * Redraws the build page's state, summary and steps from a build record (GET /api/builds/:id or an
 * `event: build`). Everything is built with DOM calls and textContent: commit messages, reasons and
 * commands come from pushes and logs.
 */
import { bootLabel } from '../src/domain/boot-label.js';
import { stateLook } from '../src/domain/glance.js';
import type { BuildSummary } from '../src/http/present.js';
import { formatElapsed } from '../src/domain/duration.js';

/** What the page redraws from: a build event's summary, or the whole record (a superset). */
export type BuildView = Pick<BuildSummary, 'id' | 'state' | 'reason' | 'artifact' | 'boot' | 'steps'> & {
  links: Pick<BuildSummary['links'], 'artifact'>;
};

function element<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

export function renderSummary(build: BuildView): void {
  document.querySelector<HTMLElement>('h1[data-build]')?.setAttribute('data-state', build.state);
  const summary = document.querySelector<HTMLElement>('#summary');
  if (!summary) return;
  summary.className = `state-${build.state}`;
  // Icon and word, as the server renders it (src/http/views/build-cells.ts): not colour alone.
  const look = stateLook(build.state);
  const badge = element('span', undefined, `state tone-${look.tone}`);
  const icon = element('span', look.icon, 'state-icon');
  icon.setAttribute('aria-hidden', 'true');
  badge.append(icon, ` ${look.word}`);
  const state = element('span');
  state.id = 'state';
  state.append(badge);
  const parts: Node[] = [state];
  if (build.boot) {
    const label = element('span', bootLabel(build.boot), `boot ${build.boot.ok ? 'boot-ok' : 'boot-failed'}`);
    parts.push(document.createTextNode(' '), label);
  }
  if (build.reason) parts.push(document.createTextNode(': '), element('span', build.reason, 'reason'));
  if (build.artifact) {
    const link = element('a', build.artifact);
    link.href = `/kernels/${encodeURIComponent(build.artifact)}`;
    parts.push(document.createTextNode(' — kernel '), link);
  }
  summary.replaceChildren(...parts);
}

export function renderSteps(build: BuildView): void {
  const list = document.querySelector<HTMLElement>('#steps');
  if (!list) return;
  list.replaceChildren(
    ...build.steps.map((step) => {
      const item = element('li', `${step.command} `);
      if (step.exitCode === undefined || !step.finishedAt) {
        const running = element('em', 'running');
        const elapsed = element('span', '', 'step-time');
        elapsed.dataset.started = step.startedAt;
        item.append(running, document.createTextNode(' '), elapsed);
      } else {
        const took = formatElapsed(Date.parse(step.finishedAt) - Date.parse(step.startedAt));
        item.append(
          element('span', `exit ${step.exitCode}`, 'exit'),
          element('span', ` in ${took}`, 'step-time'),
        );
      }
      return item;
    }),
  );
}
