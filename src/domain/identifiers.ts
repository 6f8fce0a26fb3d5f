/**
 * The shapes of the identifiers that come from outside (URLs, webhooks, API bodies), in one place
 * so every entry point accepts the same ones.
 */

/** A build id in a URL or a paging cursor: a positive integer that fits a JavaScript number. */
export const BUILD_ID = /^\d{1,15}$/;

/** The `:project` label of a webhook URL and of a manual trigger. */
export const PROJECT_LABEL = /^[A-Za-z0-9._-]{1,100}$/;

/** A full commit id: SHA-1 (40 hex digits) or SHA-256 (64). */
export const COMMIT_SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
