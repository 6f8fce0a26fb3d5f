/** The paged lists (/monitor/queued, /monitor/history, /monitor/<owner>/<name>): times stay current. */
import { updateAgo } from './ago.js';
import { updateElapsed } from './duration.js';

setInterval(() => {
  updateAgo(document);
  updateElapsed(document.querySelector('main') ?? document);
}, 15_000);
