// The command language's names and bounds, apart from schemas.ts (which re-exports them) so
// that the client's parser can use them without loading zod.

export const KEY_LENGTH_MAX = 64;
export const KEYS_PER_REQUEST_MAX = 10_000;
export const COMMANDS_PER_TRANSACTION_MAX = 10_000;

export const KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
