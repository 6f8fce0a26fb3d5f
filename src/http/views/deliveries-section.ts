/**
 * The monitor's "Webhook deliveries" section: what arrived lately and what came of it, and the
 * config revision running (so a reload can be seen to have taken). Rendered once with the page;
 * /monitor/deliveries pages further back.
 */
import type { Delivery } from '../../store/store.js';
import { html, type SafeHtml } from './html.js';

export interface ServiceSection {
  deliveries: Delivery[];
  /** Cursor of older deliveries (/monitor/deliveries), null when all are shown. */
  deliveriesNext: string | null;
  config: { revision: string; loadedAt: string; source: string };
}

function outcome(delivery: Delivery): SafeHtml {
  if (delivery.outcome === 'build')
    return html`<a href="/monitor/builds/${delivery.buildId}">build #${delivery.buildId}</a>`;
  return html`<span class="delivery-${delivery.outcome}"
    >${delivery.outcome}: ${delivery.reason ?? ''}</span
  >`;
}

export function deliveryRows(deliveries: Delivery[]): SafeHtml {
  return html`<table id="deliveries">
    <thead>
      <tr>
        <th>received</th>
        <th>event</th>
        <th>repository</th>
        <th>ref</th>
        <th>outcome</th>
      </tr>
    </thead>
    <tbody>
      ${deliveries.map(
        (d) =>
          html`<tr class="delivery" data-delivery="${d.deliveryId}">
            <td><time datetime="${d.receivedAt}">${d.receivedAt.replace('T', ' ').slice(0, 19)}</time></td>
            <td>${d.event}</td>
            <td>${d.repository ?? ''}</td>
            <td class="branch">${d.ref ?? ''}</td>
            <td>${outcome(d)}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

export function renderServiceSection(section: ServiceSection): SafeHtml {
  const { config } = section;
  return html`<section id="service">
    <h2>Webhook deliveries</h2>
    ${
      section.deliveries.length === 0
        ? html`<p class="empty">No webhook delivery received yet.</p>`
        : deliveryRows(section.deliveries)
    }
    ${
      section.deliveriesNext
        ? html`<p class="more">
            <a href="/monitor/deliveries?cursor=${section.deliveriesNext}">older deliveries</a>
          </p>`
        : ''
    }
    <p id="config-revision">
      Config revision <code>${config.revision}</code>, loaded
      <time datetime="${config.loadedAt}">${config.loadedAt.replace('T', ' ').slice(0, 19)} UTC</time>
      from <code>${config.source}</code>
    </p>
  </section>`;
}
