// The formats a process may write its log in; apart from runtime/log.ts so that reading a
// cluster file does not load the logging library.
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
