#!/usr/bin/env node
// The occdb command: a thin launcher for the compiled CLI in dist/.
import '../dist/cli/main.js';
