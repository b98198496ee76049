// Exit codes of every occdb command.
export const EXIT_OK = 0;
/** A transaction error or rollback (client), a difference between replicas (verify), a process down (status). */
export const EXIT_FAILED = 1;
/** A usage or command-file error: nothing was run. */
export const EXIT_USAGE = 2;
export const EXIT_CLUSTER_UNREACHABLE = 3;
