/**
 * Cancel and rebuild on the build page. When the server wants a token, the buttons work only once
 * the reader stored one ("set token"); the server decides, this only avoids a useless click.
 */
import { askForToken, postWithToken, storedToken } from './token.js';

export class BuildControls {
  private final = false;
  private readonly needsToken: boolean;
  private readonly cancel: HTMLButtonElement | null;
  private readonly rebuild: HTMLButtonElement | null;
  /** Shown only for a pull request from a fork that waits for approval. */
  private readonly approve: HTMLButtonElement | null;
  private readonly result: HTMLElement | null;

  constructor(
    private readonly buildId: number,
    root: HTMLElement,
  ) {
    this.needsToken = root.dataset.needsToken === 'true';
    this.cancel = root.querySelector('#cancel');
    this.rebuild = root.querySelector('#rebuild');
    this.approve = root.querySelector('#approve');
    this.result = root.querySelector('#control-result');
    root.querySelector('#set-token')?.addEventListener('click', (event) => {
      event.preventDefault();
      askForToken();
      this.refresh();
    });
    // post() shows its own failures on the page; the catch only keeps a rejection from escaping.
    this.cancel?.addEventListener('click', () => {
      this.post('cancel').catch(() => undefined);
    });
    this.rebuild?.addEventListener('click', () => {
      this.post('rebuild').catch(() => undefined);
    });
    this.approve?.addEventListener('click', () => {
      this.post('approve').catch(() => undefined);
    });
    this.refresh();
  }

  setFinal(final: boolean): void {
    this.final = final;
    this.refresh();
  }

  private refresh(): void {
    const allowed = !this.needsToken || storedToken() !== null;
    const title = allowed ? '' : 'needs an API token: use "set token"';
    if (this.cancel) Object.assign(this.cancel, { disabled: !allowed || this.final, title });
    if (this.rebuild) Object.assign(this.rebuild, { disabled: !allowed, title });
    if (this.approve) Object.assign(this.approve, { disabled: !allowed || this.final, title });
  }

  private async post(action: 'cancel' | 'rebuild' | 'approve'): Promise<void> {
    this.show(`${action}…`);
    try {
      const response = await postWithToken(`/api/builds/${this.buildId}/${action}`);
      const body = (await response.json().catch(() => ({}))) as {
        id?: number;
        message?: string;
        links?: { monitor?: string };
      };
      if (!response.ok) return this.show(`${action} refused: ${body.message ?? response.status}`);
      if (action === 'rebuild' && body.id !== undefined) {
        const link = document.createElement('a');
        link.href = `/monitor/builds/${body.id}`;
        link.textContent = `#${body.id}`;
        this.show('queued as ', link);
      } else if (action === 'approve') {
        this.approve?.remove();
        this.show('approved');
      } else this.show('cancelled');
    } catch (error) {
      this.show(`${action} failed: ${(error as Error).message}`);
    }
  }

  private show(text: string, link?: HTMLAnchorElement): void {
    this.result?.replaceChildren(document.createTextNode(text), ...(link ? [link] : []));
  }
}
