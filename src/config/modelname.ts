/** A model name as the APIs spell them (`claude-sonnet-4-5`): no option-like or shell-like text. No imports. */
export const MODEL_RE = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$/;
