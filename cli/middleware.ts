import type { Command } from 'commander';
export function registerMiddlewareCommand(program: Command): void {
  void program;
}
